# shardctrler/ - lab 5A: the configuration service on Raft (library), the
# scserver daemon and the unit tests.
#
#   build/release/bin/scserver -i I -p ADDR0,ADDR1,... -d DIR
#   (the skvcli client in shardkv/ does join/leave/move/query)
SHARDCTRLER_SRCS := $(filter-out %_main.c,$(wildcard shardctrler/*.c))
$(eval $(call module_lib,shardctrler,$(SHARDCTRLER_SRCS)))
# SOLUTION BEGIN
$(eval $(call unit_test,test_sc_config,shardctrler/tests/test_sc_config.c,shardctrler rpc common))
# The replicated-state-machine layer (raft/rsm.c, in libraft) is tested
# here because raft/module.mk belongs to the Raft lab.
$(eval $(call unit_test,test_rsm,raft/tests/test_rsm.c,raft rpc common))
# SOLUTION END
ifneq ($(wildcard rpc/module.mk),)
$(eval $(call program,scserver,shardctrler/scserver_main.c,shardctrler raft rpc common))
endif

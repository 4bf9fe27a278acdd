# shardctrler/ - lab 5A: the configuration service on Raft.
SHARDCTRLER_SRCS := $(wildcard shardctrler/*.c)
$(eval $(call module_lib,shardctrler,$(SHARDCTRLER_SRCS)))
$(eval $(call unit_test,test_sc_config,shardctrler/tests/test_sc_config.c,shardctrler rpc common))
# The replicated-state-machine layer (raft/rsm.c, in libraft) is tested
# here because raft/module.mk belongs to the Raft lab.
$(eval $(call unit_test,test_rsm,raft/tests/test_rsm.c,raft rpc common))

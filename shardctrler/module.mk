# shardctrler/ - lab 5A: the configuration service on Raft.
SHARDCTRLER_SRCS := shardctrler/sc_config.c
$(eval $(call module_lib,shardctrler,$(SHARDCTRLER_SRCS)))
$(eval $(call unit_test,test_sc_config,shardctrler/tests/test_sc_config.c,shardctrler rpc common))

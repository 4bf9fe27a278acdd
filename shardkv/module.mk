# shardkv/ - lab 5B: the sharded KV service on Raft (library).
SHARDKV_SRCS := shardkv/server.c shardkv/client.c
SHARDKV_LIBS := shardkv shardctrler kvsrv raft rpc common
$(eval $(call module_lib,shardkv,$(SHARDKV_SRCS)))

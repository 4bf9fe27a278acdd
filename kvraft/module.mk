# kvraft/ - lab 4 KV service on Raft (library), the kvserver daemon, the
# kvcli client and the unit tests.
#
#   build/release/bin/kvserver -i I -p ADDR0,ADDR1,... -d DIR
#   build/release/bin/kvcli -s ADDR0,ADDR1,... get|put|append|batch|status
#   test-scripts/kv-cluster.sh start|stop|status   (a local 3-node cluster)
# Every kvraft/*.c but the programs' mains (a student's new files too:
# grade restores this file).
KVRAFT_SRCS := $(filter-out %_main.c,$(wildcard kvraft/*.c))
KVRAFT_LIBS := kvraft kvsrv raft rpc common
$(eval $(call module_lib,kvraft,$(KVRAFT_SRCS)))
ifneq ($(wildcard rpc/module.mk),)
$(eval $(call program,kvserver,kvraft/kvserver_main.c,$(KVRAFT_LIBS)))
$(eval $(call program,kvcli,kvraft/kvcli_main.c,$(KVRAFT_LIBS)))
# SOLUTION BEGIN
$(eval $(call unit_test,test_kvraft,kvraft/tests/test_kvraft.c,$(KVRAFT_LIBS)))
# SOLUTION END
endif

# shardkv/ - lab 5B: the sharded KV service on Raft (library), the
# skvserver daemon, the skvcli client, and the daemon end-to-end test.
#
#   build/release/bin/skvserver -g GID -i I -p ADDRS -c CTRLERS -d DIR
#   build/release/bin/skvcli -C CTRLERS join|leave|move|query|get|put|append|batch
#   test-scripts/skv-cluster.sh start|stop|status|...  (a local deployment)
#   make test-skv-daemons   (part of make test)
# Every shardkv/*.c but the programs' mains (a student's new files too:
# grade restores this file).
SHARDKV_SRCS := $(filter-out %_main.c,$(wildcard shardkv/*.c))
SHARDKV_LIBS := shardkv shardctrler kvsrv raft rpc common
$(eval $(call module_lib,shardkv,$(SHARDKV_SRCS)))
# common/daemon.c's unit test (common/module.mk is the common module's).
$(eval $(call unit_test,test_daemon,common/tests/test_daemon.c,common))
ifneq ($(wildcard rpc/module.mk),)
$(eval $(call program,skvserver,shardkv/skvserver_main.c,$(SHARDKV_LIBS)))
$(eval $(call program,skvcli,shardkv/skvcli_main.c,$(SHARDKV_LIBS)))

.PHONY: test-skv-daemons
test-skv-daemons: $(BUILD)/bin/scserver $(BUILD)/bin/skvserver $(BUILD)/bin/skvcli
	@test-scripts/test-skv-daemons.sh $(BUILD)/bin
EXTRA_TESTS += test-skv-daemons
endif

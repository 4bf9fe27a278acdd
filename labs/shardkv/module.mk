# labs/shardkv/ - the graded lab 5 shardkv tests (TestStaticShards5A,
# TestRejection5A, the nine 5B tests and the two challenges) and their
# config, and the lab 5 make targets:
#
#   make test-lab5A     shardctrler tests + TestStaticShards5A, TestRejection5A
#   make test-lab5B     the 5B shardkv tests and both challenges
#   make test-lab5      all of lab 5
#   build/release/tests/lab5kv --list | [--seed N] TestName...
LAB5KV_SRCS := labs/shardkv/lab5kv.c labs/shardkv/config.c \
               labs/timeline/raft_tap.c
LAB5KV_LIBS := labtester labnet labtimeline porcupine shardkv shardctrler kvsrv raft rpc common
LAB5KV_BIN := $(BUILD)/tests/lab5kv
LAB5_LAB_TIMEOUT := $(if $(filter release,$(VARIANT)),600,1200)
LAB5_RUN_LAB := test-scripts/run-lab.py --total-timeout $(LAB5_LAB_TIMEOUT)

ifneq ($(and $(wildcard rpc/module.mk),$(wildcard labs/net/module.mk),$(wildcard labs/porcupine/module.mk)),)
$(LAB5KV_BIN): $(call objs,$(LAB5KV_SRCS)) $(call libs,$(LAB5KV_LIBS))
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) $(TIMELINE_TAP_LDFLAGS) $^ -o $@ $(LDLIBS)
ALL_TARGETS += $(LAB5KV_BIN)
endif

.PHONY: test-lab5 test-lab5A test-lab5B
test-lab5A: $(LAB5SC_BIN) $(LAB5KV_BIN)
	@$(LAB5_RUN_LAB) --label shardctrler $(LAB5SC_BIN)
	@$(LAB5_RUN_LAB) --label lab5A-shardkv $(LAB5KV_BIN) '5A$$'
test-lab5B: $(LAB5KV_BIN)
	@$(LAB5_RUN_LAB) --label lab5B $(LAB5KV_BIN) '5B$$' 'Challenge'
test-lab5: $(LAB5SC_BIN) $(LAB5KV_BIN)
	@$(LAB5_RUN_LAB) --label shardctrler $(LAB5SC_BIN)
	@$(LAB5_RUN_LAB) --label shardkv $(LAB5KV_BIN)
EXTRA_TESTS += test-lab5

# SOLUTION BEGIN
# A planted-bug build for measuring the graded tests (not a goal of make
# test): shardkv/server.c with SKV_BUG_NO_APPLY_CHECK (shard ownership
# checked only when a command is submitted, not when it is applied).
ifneq ($(and $(wildcard rpc/module.mk),$(wildcard labs/net/module.mk),$(wildcard labs/porcupine/module.mk)),)
$(eval $(call bug_test,lab5kv-nocheck,shardkv/server.c,SKV_BUG_NO_APPLY_CHECK,$(LAB5KV_SRCS),$(LAB5KV_LIBS)))
endif
# SOLUTION END

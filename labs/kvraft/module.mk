# labs/kvraft/ - the graded lab 4 tests (KV on Raft) and their config, the
# history checker for the daemon test, and the daemon test itself.
#
#   make test-lab4A | test-lab4B | test-lab4     (also under asan/tsan)
#   make test-kv-daemons    real kvserver processes: SIGKILL the leader
#                           under load, restart it, check the history
#   build/release/tests/lab4 --list | [--seed N] TestName...
LAB4_SRCS := labs/kvraft/lab4.c labs/kvraft/config.c labs/kvsrv/kvtest.c \
               labs/timeline/raft_tap.c
LAB4_LIBS := labtester labnet labtimeline porcupine kvraft kvsrv raft rpc common
LAB4_BIN := $(BUILD)/tests/lab4
KV4_LAB_TIMEOUT := $(if $(filter release,$(VARIANT)),600,1200)
KV4_RUN_LAB := test-scripts/run-lab.py --total-timeout $(KV4_LAB_TIMEOUT)

ifneq ($(and $(wildcard rpc/module.mk),$(wildcard labs/net/module.mk),$(wildcard labs/porcupine/module.mk)),)
$(LAB4_BIN): $(call objs,$(LAB4_SRCS)) $(call libs,$(LAB4_LIBS))
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) $(TIMELINE_TAP_LDFLAGS) $^ -o $@ $(LDLIBS)
ALL_TARGETS += $(LAB4_BIN)
$(eval $(call program,kv-histcheck,labs/kvraft/histcheck.c,porcupine common))
endif

.PHONY: test-lab4 test-lab4A test-lab4B test-kv-daemons
test-lab4: $(LAB4_BIN)
	@$(KV4_RUN_LAB) --label lab4 $(LAB4_BIN)
test-lab4A: $(LAB4_BIN)
	@$(KV4_RUN_LAB) --label lab4A $(LAB4_BIN) '4A$$'
test-lab4B: $(LAB4_BIN)
	@$(KV4_RUN_LAB) --label lab4B $(LAB4_BIN) '4B$$'
test-kv-daemons: $(BUILD)/bin/kvserver $(BUILD)/bin/kvcli $(BUILD)/bin/kv-histcheck
	@test-scripts/test-kv-daemons.sh $(BUILD)/bin
EXTRA_TESTS += test-lab4 test-kv-daemons

# labs/kvraft/ - the graded lab 4 tests (KV on Raft) and their config, the
# history checker for the daemon test, and the daemon test itself.
#
#   make test-lab4A | test-lab4B | test-lab4     (also under asan/tsan)
#   make test-kv-daemons    real kvserver processes: SIGKILL the leader
#                           under load, restart it, check the history
#   make test-lab4-extra    the extra suite (lab4extra.c, part 4X)
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
$(eval $(call program,persist-edit,labs/kvraft/persist_edit.c,common))
endif

.PHONY: test-lab4 test-lab4A test-lab4B test-kv-daemons test-hostile
test-lab4: $(LAB4_BIN)
	@$(KV4_RUN_LAB) --label lab4 $(LAB4_BIN)
test-lab4A: $(LAB4_BIN)
	@$(KV4_RUN_LAB) --label lab4A $(LAB4_BIN) '4A$$'
test-lab4B: $(LAB4_BIN)
	@$(KV4_RUN_LAB) --label lab4B $(LAB4_BIN) '4B$$'
test-kv-daemons: $(BUILD)/bin/kvserver $(BUILD)/bin/kvcli $(BUILD)/bin/kv-histcheck
	@test-scripts/test-kv-daemons.sh $(BUILD)/bin
# Hostile clients and operator mistakes against real daemons (issue 13).
test-hostile: $(BUILD)/bin/kvserver $(BUILD)/bin/kvcli $(BUILD)/bin/persist-edit
	@test-scripts/test-hostile.sh $(BUILD)/bin
EXTRA_TESTS += test-lab4 test-kv-daemons test-hostile

# The extra suite (beyond Go, graded separately): a directed scenario for
# the classic bug the graded tests catch only by chance (lab4extra.c).
LAB4X_SRCS := labs/kvraft/lab4extra.c labs/kvraft/config.c \
              labs/timeline/raft_tap.c
LAB4X_BIN := $(BUILD)/tests/lab4extra
ifneq ($(and $(wildcard rpc/module.mk),$(wildcard labs/net/module.mk),$(wildcard labs/porcupine/module.mk)),)
$(LAB4X_BIN): $(call objs,$(LAB4X_SRCS)) $(call libs,$(LAB4_LIBS))
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) $(TIMELINE_TAP_LDFLAGS) $^ -o $@ $(LDLIBS)
ALL_TARGETS += $(LAB4X_BIN)
endif
.PHONY: test-lab4-extra test-extra
test-lab4-extra: $(LAB4X_BIN)
	@$(KV4_RUN_LAB) --label lab4-extra $(LAB4X_BIN)
test-extra: test-lab4-extra
EXTRA_TESTS += test-lab4-extra

# SOLUTION BEGIN
# The planted bugs, in raft/rsm.c: RSM_BUG_SNAPSHOT_NO_DEDUP (snapshots
# leave the duplicate table out), RSM_BUG_INSTALL_NO_DEDUP (a snapshot from
# InstallSnapshot restores the service but not the table; a restart does).
# Each extra test must catch the bugs of its path in at least
# LAB4X_TEETH_MIN of LAB4X_TEETH_RUNS runs (one run in make test; the full
# count on demand).
ifneq ($(and $(wildcard rpc/module.mk),$(wildcard labs/net/module.mk),$(wildcard labs/porcupine/module.mk)),)
$(eval $(call bug_test,lab4extra-nodedup,raft/rsm.c,RSM_BUG_SNAPSHOT_NO_DEDUP,$(LAB4X_SRCS),$(LAB4_LIBS)))
$(eval $(call bug_test,lab4extra-noinstall,raft/rsm.c,RSM_BUG_INSTALL_NO_DEDUP,$(LAB4X_SRCS),$(LAB4_LIBS)))
# The same bugs under the graded tests (for measuring them; not in make test).
$(eval $(call bug_test,lab4-nodedup,raft/rsm.c,RSM_BUG_SNAPSHOT_NO_DEDUP,$(LAB4_SRCS),$(LAB4_LIBS)))
$(eval $(call bug_test,lab4-noinstall,raft/rsm.c,RSM_BUG_INSTALL_NO_DEDUP,$(LAB4_SRCS),$(LAB4_LIBS)))

LAB4X_TEETH_RUNS ?= 1
LAB4X_TEETH_MIN ?= 1
.PHONY: test-lab4-extra-teeth
test-lab4-extra-teeth: $(BUILD)/tests/lab4extra-nodedup $(BUILD)/tests/lab4extra-noinstall
	@labs/raft/extra-teeth.sh $(LAB4X_TEETH_RUNS) $(LAB4X_TEETH_MIN) \
	    $(BUILD)/tests/lab4extra-nodedup TestLostReplyRestart4X \
	    $(BUILD)/tests/lab4extra-nodedup TestLostReplyInstall4X \
	    $(BUILD)/tests/lab4extra-noinstall TestLostReplyInstall4X
EXTRA_TESTS += test-lab4-extra-teeth
endif
# SOLUTION END

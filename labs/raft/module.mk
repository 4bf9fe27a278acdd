# labs/raft/ - the 28 graded Raft tests (lab 3) and their config helpers.
#
#   make test-lab3A | test-lab3B | test-lab3C | test-lab3D | test-lab3
#   make asan test-lab3A           (same, AddressSanitizer build)
#   build/release/tests/lab3 --list | [--seed N] TestName...
#
# The binary is not a cmocka test: test-scripts/run-lab.py runs each test in
# its own process under the 120 s / 600 s limits and keeps failing logs.
LAB3_SRCS := labs/raft/lab3.c labs/raft/config.c
LAB3_LIBS := labtester labnet labtimeline raft rpc common
LAB3_BIN := $(BUILD)/tests/lab3

# The whole-lab budget: 600 s as in 6.5840 grading; sanitizer builds run
# slower, so they get twice that (the per-test 120 s stays).
ifeq ($(VARIANT),release)
LAB_TOTAL_TIMEOUT ?= 600
else
LAB_TOTAL_TIMEOUT ?= 1200
endif
RUN_LAB := test-scripts/run-lab.py --total-timeout $(LAB_TOTAL_TIMEOUT)

# Until rpc/ and labs/net/ exist the binary cannot link; keep `make` working.
ifneq ($(and $(wildcard rpc/module.mk),$(wildcard labs/net/module.mk)),)
$(LAB3_BIN): $(call objs,$(LAB3_SRCS)) $(call libs,$(LAB3_LIBS))
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) $^ -o $@ $(LDLIBS)
ALL_TARGETS += $(LAB3_BIN)
endif

.PHONY: test-lab3 test-lab3A test-lab3B test-lab3C test-lab3D
test-lab3: $(LAB3_BIN)
	@$(RUN_LAB) --label lab3 $(LAB3_BIN)
test-lab3A: $(LAB3_BIN)
	@$(RUN_LAB) --label lab3A $(LAB3_BIN) '3A$$'
test-lab3B: $(LAB3_BIN)
	@$(RUN_LAB) --label lab3B $(LAB3_BIN) '3B$$'
test-lab3C: $(LAB3_BIN)
	@$(RUN_LAB) --label lab3C $(LAB3_BIN) '3C$$'
test-lab3D: $(LAB3_BIN)
	@$(RUN_LAB) --label lab3D $(LAB3_BIN) '3D$$'
EXTRA_TESTS += test-lab3

# The extra suite (beyond Go, graded separately): directed scenarios for
# the classic bugs the graded tests catch only by chance (lab3extra.c).
LAB3X_SRCS := labs/raft/lab3extra.c labs/raft/config.c
LAB3X_BIN := $(BUILD)/tests/lab3extra
ifneq ($(and $(wildcard rpc/module.mk),$(wildcard labs/net/module.mk)),)
$(LAB3X_BIN): $(call objs,$(LAB3X_SRCS)) $(call libs,$(LAB3_LIBS))
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) $^ -o $@ $(LDLIBS)
ALL_TARGETS += $(LAB3X_BIN)
endif
.PHONY: test-lab3-extra test-extra
test-lab3-extra: $(LAB3X_BIN)
	@$(RUN_LAB) --label lab3-extra $(LAB3X_BIN)
test-extra: test-lab3-extra
EXTRA_TESTS += test-lab3-extra

# SOLUTION BEGIN
# Planted-bug builds of the reference Raft: raft/*.c compiled again with
# one macro each into a separate object tree (as labs/sim's teeth), linked
# with a lab 3 test file. The tests that should catch each bug must.
# $(call lab3_bug_build,NAME,MACRO): the tree $(BUILD)/raftbug-NAME/
define lab3_bug_build
$(BUILD)/raftbug-$(1)/%.o: %.c
	@mkdir -p $$(@D)
	$$(CC) $$(CFLAGS) -D$(2) -MMD -MP -c $$< -o $$@
-include $(patsubst %.c,$(BUILD)/raftbug-$(1)/%.d,$(RAFT_SRCS))
endef
# $(call lab3_bug_bin,BIN,NAME,TESTSRCS): $(BUILD)/tests/BIN-NAME
define lab3_bug_bin
$(BUILD)/tests/$(1)-$(2): $(call objs,$(3)) $(patsubst %.c,$(BUILD)/raftbug-$(2)/%.o,$(RAFT_SRCS)) $(call libs,labtester labnet labtimeline rpc common)
	@mkdir -p $$(@D)
	$$(CC) $$(LDFLAGS) $$^ -o $$@ $$(LDLIBS)
endef
ifneq ($(and $(wildcard rpc/module.mk),$(wildcard labs/net/module.mk)),)
$(eval $(call lab3_bug_build,resend,RAFT_BUG_RESEND_PREV))
$(eval $(call lab3_bug_bin,lab3,resend,$(LAB3_SRCS)))
$(eval $(call lab3_bug_build,commit,RAFT_BUG_COMMIT_OLD_TERM))
$(eval $(call lab3_bug_bin,lab3extra,commit,$(LAB3X_SRCS)))
$(eval $(call lab3_bug_build,vote,RAFT_BUG_FORGET_VOTE))
$(eval $(call lab3_bug_bin,lab3extra,vote,$(LAB3X_SRCS)))

# The extra suite's teeth: each planted bug must fail its scenario test
# in at least LAB3X_TEETH_MIN of LAB3X_TEETH_RUNS runs (one run each in
# make test; the full count on demand).
LAB3X_TEETH_RUNS ?= 1
LAB3X_TEETH_MIN ?= 1
.PHONY: test-lab3-extra-teeth
test-lab3-extra-teeth: $(BUILD)/tests/lab3extra-commit $(BUILD)/tests/lab3extra-vote
	@labs/raft/extra-teeth.sh $(LAB3X_TEETH_RUNS) $(LAB3X_TEETH_MIN) \
	    $(BUILD)/tests/lab3extra-commit TestFigure8Scenario3X \
	    $(BUILD)/tests/lab3extra-vote TestRestartedVoter3X
EXTRA_TESTS += test-lab3-extra-teeth

# TestRPCBytes3B counts bytes as Go does (gob's per-RPC overhead charged):
# a leader resending the entry before nextIndex with every batch passes
# on raw msgpack bytes but must fail, as it fails in Go.
.PHONY: test-lab3-bytes
test-lab3-bytes: $(BUILD)/tests/lab3-resend
	@out=$$($(BUILD)/tests/lab3-resend --timeout 60 TestRPCBytes3B 2>&1); rc=$$?; \
	if [ $$rc -ne 0 ] && echo "$$out" | grep -q "too many RPC bytes"; then \
	    echo "test-lab3-bytes: ok: $$(echo "$$out" | grep -o 'got [0-9]* ([0-9]* counting.*')"; \
	else echo "$$out"; echo "test-lab3-bytes: FAIL: redundant resending passed TestRPCBytes3B"; exit 1; fi
EXTRA_TESTS += test-lab3-bytes
endif
# SOLUTION END

# mr/ - lab 1 MapReduce: coordinator, worker, sequential runner, plugin ABI
# (mr/mr_app.h), apps (mr/apps/), text generator, tests and the demo.
# Every mr/*.c but the programs' mains (a student's new files too: grade
# restores this file).
MR_MAINS := mr/mrcoordinator.c mr/mrworker.c mr/mrsequential.c mr/gentext.c
MR_SRCS := $(filter-out $(MR_MAINS),$(wildcard mr/*.c))
$(eval $(call module_lib,mr,$(MR_SRCS)))
$(eval $(call program,mrcoordinator,mr/mrcoordinator.c,mr rpc common))
$(eval $(call program,mrworker,mr/mrworker.c,mr rpc common))
$(eval $(call program,mrsequential,mr/mrsequential.c,mr common))
$(eval $(call program,mrgentext,mr/gentext.c,mr common))
$(eval $(call unit_test,test_mr,mr/tests/test_mr.c,mr rpc common))
$(eval $(call unit_test,test_mr_dist,mr/tests/test_mr_dist.c,mr rpc common))
# test_mr checks the lab 1 code students write (scheduling rules, tasks, a
# whole job): make test-unit names it as pending lab 1 when it fails, and
# make test-lab1 and grade run it before the seven graded tests.
UNIT_TEST_LABS += test_mr:1

MR_PROGS := $(addprefix $(BUILD)/bin/,mrcoordinator mrworker mrsequential mrgentext)
MR_APP_NAMES := wc indexer mtiming rtiming jobcount early_exit crash nocrash straggler
MR_APPS = $(foreach a,$(MR_APP_NAMES),$(BUILD)/apps/$(a).so)
MR_TEST_APPS = $(foreach a,mr_noreduce mr_nomap mr_crashonce mr_fsync_spy,$(BUILD)/apps/$(a).so)

.PHONY: mr-all test-lab1 test-mr-errors test-mr-distributed run
# Everything lab 1 needs (handy while other modules are being built).
mr-all: $(MR_PROGS) $(MR_APPS) $(MR_TEST_APPS) $(BUILD)/tests/test_mr

# The unit tests of the lab 1 code (test_mr, ~2 s, 0 points in grade: a
# quicker diagnosis of the rules the graded tests check), then the seven
# graded tests (test-scripts/test-mr.sh; `quiet` hides output). Both run;
# the goal fails if either does.
test-lab1: $(MR_PROGS) $(MR_APPS) $(BUILD)/tests/test_mr
	@rc=0; echo "*** lab 1 unit tests ($(BUILD)/tests/test_mr)"; \
	$(BUILD)/tests/test_mr || { rc=1; echo "*** lab 1 unit tests: FAIL"; }; \
	BUILD=$(BUILD) test-scripts/test-mr.sh $(MR_TEST_ARGS) || rc=1; exit $$rc

# Bad inputs and failures: clear messages, non-zero exits, no corrupt output.
test-mr-errors: $(MR_PROGS) $(MR_APPS) $(MR_TEST_APPS)
	BUILD=$(BUILD) mr/tests/test-mr-errors.sh

# Distributed mode (no shared directory): splits, dead workers, backup
# tasks, external sort (test-scripts/test-mr-distributed.sh, ~1.5 min).
test-mr-distributed: $(MR_PROGS) $(MR_APPS)
	BUILD=$(BUILD) test-scripts/test-mr-distributed.sh

# Demo: word count over generated text with a coordinator and 3 workers.
run: $(MR_PROGS) $(MR_APPS)
	BUILD=$(BUILD) mr/run-demo.sh

EXTRA_TESTS += test-lab1 test-mr-errors test-mr-distributed

# mr/ - lab 1 MapReduce: coordinator, worker, sequential runner, plugin ABI
# (mr/mr_app.h), apps (mr/apps/), text generator, tests and the demo.
MR_SRCS := mr/util.c mr/task.c mr/sequential.c mr/coordinator.c mr/worker.c \
           mr/split.c mr/xsort.c mr/dcoord.c mr/dworker.c
$(eval $(call module_lib,mr,$(MR_SRCS)))
$(eval $(call program,mrcoordinator,mr/mrcoordinator.c,mr rpc common))
$(eval $(call program,mrworker,mr/mrworker.c,mr rpc common))
$(eval $(call program,mrsequential,mr/mrsequential.c,mr common))
$(eval $(call program,mrgentext,mr/gentext.c,mr common))
$(eval $(call unit_test,test_mr,mr/tests/test_mr.c,mr rpc common))
$(eval $(call unit_test,test_mr_dist,mr/tests/test_mr_dist.c,mr rpc common))

MR_PROGS := $(addprefix $(BUILD)/bin/,mrcoordinator mrworker mrsequential mrgentext)
MR_APP_NAMES := wc indexer mtiming rtiming jobcount early_exit crash nocrash straggler
MR_APPS = $(foreach a,$(MR_APP_NAMES),$(BUILD)/apps/$(a).so)
MR_TEST_APPS = $(foreach a,mr_noreduce mr_nomap mr_crashonce mr_fsync_spy,$(BUILD)/apps/$(a).so)

.PHONY: mr-all test-lab1 test-mr-errors test-mr-distributed run
# Everything lab 1 needs (handy while other modules are being built).
mr-all: $(MR_PROGS) $(MR_APPS) $(MR_TEST_APPS) $(BUILD)/tests/test_mr

# The seven graded tests (test-scripts/test-mr.sh; `quiet` hides output).
test-lab1: $(MR_PROGS) $(MR_APPS)
	BUILD=$(BUILD) test-scripts/test-mr.sh $(MR_TEST_ARGS)

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

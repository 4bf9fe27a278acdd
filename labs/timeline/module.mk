# labs/timeline/ - the event recorder of graded runs (liblabtimeline):
# labnet, the tester and the lab configs record into it; on a failure the
# tester writes $LAB_TIMELINE and test-scripts/timeline.py renders it with
# the viewer (labs/timeline/viewer.*) into one self-contained HTML page.
#
#   make test-timeline   headless Chromium opens timelines of failing runs
$(eval $(call module_lib,labtimeline,labs/timeline/timeline.c))
# The lab 4 and 5 test binaries also compile labs/timeline/raft_tap.c and
# link with this, so the applies of the code under test are recorded
# (raft_tap.h). Used in recipes only: defined late is fine.
TIMELINE_TAP_LDFLAGS := -Wl,--wrap=raft_make
$(eval $(call unit_test,test_timeline,labs/timeline/tests/test_timeline.c,labtimeline common))

# The simulator is reference-only (not in the student handout).
TL_SIM := $(if $(wildcard labs/sim/module.mk),$(BUILD)/bin/raftsim-bug-vote)
.PHONY: test-timeline
test-timeline: $(BUILD)/tests/lab2 $(BUILD)/tests/lab3 $(BUILD)/tests/lab3-bug-vote \
               $(BUILD)/tests/lab4 $(BUILD)/tests/lab5sc $(BUILD)/tests/lab5kv $(TL_SIM) \
               $(MR_PROGS) $(MR_APPS)
	@test-scripts/test-timeline.sh $(BUILD)
EXTRA_TESTS += test-timeline

# lab3-bug-vote: the lab 3 tests linked against a Raft whose voters skip the
# up-to-date check (the raftsim planted bug, RAFT_BUG_VOTE_WITHOUT_UPTODATE):
# real failures of graded tests for the timeline test and the handout.
ifneq ($(and $(wildcard rpc/module.mk),$(wildcard labs/net/module.mk)),)
TL_BUG_RAFT_OBJS := $(patsubst %.c,$(BUILD)/lab-bug-vote/%.o,$(wildcard raft/*.c))
$(BUILD)/lab-bug-vote/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -DRAFT_BUG_VOTE_WITHOUT_UPTODATE -MMD -MP -c $< -o $@
$(BUILD)/tests/lab3-bug-vote: $(call objs,$(LAB3_SRCS)) $(TL_BUG_RAFT_OBJS) \
                              $(call libs,labtester labnet labtimeline rpc common)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) $^ -o $@ $(LDLIBS)
endif

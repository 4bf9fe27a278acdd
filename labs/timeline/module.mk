# labs/timeline/ - the event recorder of graded runs (liblabtimeline):
# labnet, the tester and the lab configs record into it; on a failure the
# tester writes $LAB_TIMELINE and test-scripts/timeline.py renders it with
# the viewer (labs/timeline/viewer.*) into one self-contained HTML page.
#
#   make test-timeline   headless Chromium opens timelines of failing runs
$(eval $(call module_lib,labtimeline,labs/timeline/timeline.c))
$(eval $(call unit_test,test_timeline,labs/timeline/tests/test_timeline.c,labtimeline common))

.PHONY: test-timeline
test-timeline: $(BUILD)/tests/lab2 $(BUILD)/tests/lab3 $(BUILD)/tests/lab4 \
               $(BUILD)/tests/lab5sc $(BUILD)/tests/lab5kv $(BUILD)/bin/raftsim-bug-vote
	@test-scripts/test-timeline.sh $(BUILD)
EXTRA_TESTS += test-timeline

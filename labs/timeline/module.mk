# labs/timeline/ - the event recorder of graded runs (liblabtimeline):
# labnet, the tester and the lab configs record into it; on a failure the
# tester writes $LAB_TIMELINE and test-scripts/timeline.py renders it with
# the viewer (labs/timeline/viewer.*) into one self-contained HTML page.
#
#   make test-timeline   headless Chromium opens timelines of failing runs
$(eval $(call module_lib,labtimeline,labs/timeline/timeline.c))

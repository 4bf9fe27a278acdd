# labs/tester/ - the generic graded-test harness (registry, main(), seeds,
# fatal failures, per-test watchdog, summary lines) that every lab's test
# binary links (lab3 now; lab2/4/5 the same way).
LABTESTER_SRCS := labs/tester/tester.c
$(eval $(call module_lib,labtester,$(LABTESTER_SRCS)))

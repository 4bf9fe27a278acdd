# labs/classroom/ - running the labs as a course (see README.md here):
#
#   make handin LAB=N       pack this tree into handin-labN.tar.gz
#   make handout            the student skeleton, in $(BUILDDIR)/handout/
#   make check-handout      generate it, leak-check it, build it (-Werror)
#                           and check a sample of its tests fails cleanly
#   make test-tamper        grade's tamper check on planted bypasses
#   test-scripts/grade [--tree PATH] [--runs N] [PART ...]
#                           grade a tree (Gradescope JSON in results/)
HANDOUT_DIR := $(BUILDDIR)/handout

.PHONY: handin
handin:
	@test-scripts/handin.sh $(LAB)

# SOLUTION BEGIN
.PHONY: handout check-handout
handout:
	@test-scripts/handout.py --out $(HANDOUT_DIR)
check-handout: all
	@labs/classroom/check-handout.py --out $(HANDOUT_DIR)

# grade's tamper check refuses fault-model bypasses, accepts the reference.
.PHONY: test-tamper
test-tamper: $(foreach l,kvsrv raft kvraft shardctrler shardkv,$(BUILD)/lib/lib$(l).a)
	@labs/classroom/tests/test-tamper.sh $(BUILD)
EXTRA_TESTS += test-tamper
# SOLUTION END

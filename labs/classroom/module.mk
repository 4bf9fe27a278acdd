# labs/classroom/ - running the labs as a course (see README.md here):
#
#   make handin LAB=N       pack this tree into handin-labN.tar.gz
#   make handout            the student skeleton, in $(BUILDDIR)/handout/
#   make check-handout      generate it, leak-check it, build it (-Werror)
#                           and check a sample of its tests fails cleanly
#   make test-tamper        grade's tamper check on planted bypasses
#   make test-grade-prepare grade restores the student dirs' make code
#   make autograder [LAB=N] Gradescope's autograder zip ($(BUILDDIR)/)
#   make test-autograder    it, end to end in Gradescope's layout
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

# The Gradescope autograder zip (LAB: the labs/parts it grades, default
# all; the course's limits as grade's defaults), and its end-to-end test in
# Gradescope's directory layout (lab 2: reference, skeleton, hang, crash,
# tampering; ~5 minutes).
LAB ?=
AUTOGRADER_ZIP := $(BUILDDIR)/autograder$(if $(LAB),-lab$(LAB)).zip
.PHONY: autograder test-autograder
autograder:
	@labs/classroom/autograder/make-autograder.py --out $(AUTOGRADER_ZIP) \
	    $(if $(LAB),--labs "$(LAB)")
test-autograder:
	@labs/classroom/tests/test-autograder.sh
EXTRA_TESTS += test-autograder

# grade's tamper check refuses fault-model bypasses, accepts the reference.
.PHONY: test-tamper
test-tamper: $(foreach l,kvsrv raft kvraft shardctrler shardkv,$(BUILD)/lib/lib$(l).a)
	@labs/classroom/tests/test-tamper.sh $(BUILD)
EXTRA_TESTS += test-tamper

# grade puts back every make fragment of the student's directories (a
# module.mk runs at build time, after the protected files are restored).
.PHONY: test-grade-prepare
test-grade-prepare:
	@labs/classroom/tests/test-grade-prepare.py
EXTRA_TESTS += test-grade-prepare
# SOLUTION END

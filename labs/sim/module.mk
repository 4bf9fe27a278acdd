# labs/sim/ - raftsim, the seeded deterministic simulator for the Raft core
# (raft/raft_core.h), and its teeth: the same simulator linked against
# cores built with a planted bug, which it must catch.
#
#   make test-sim        SIM_TEST_SEEDS schedules on the real core + teeth
#   make sim-teeth       each planted-bug build runs seeds until it finds a
#                        violation; fails if none within SIM_TEETH_SEEDS
#   build/release/bin/raftsim --seeds 10000      (see --help)
#   build/release/bin/raftsim --seed S --verbose (replay one schedule)
SIM_SRCS := $(wildcard labs/sim/*.c)
$(eval $(call program,raftsim,$(SIM_SRCS),raft common))

# The planted bugs: the core's own sources compiled again with one macro
# each, into separate object trees (the normal build never sees them).
SIM_CORE_SRCS := raft/core.c raft/election.c raft/replication.c \
                 raft/snapshot.c raft/log.c raft/encode.c raft/ready.c

# $(call sim_bug_build,NAME,MACRO): $(BUILD)/bin/raftsim-NAME
define sim_bug_build
$(BUILD)/sim-$(1)/%.o: %.c
	@mkdir -p $$(@D)
	$$(CC) $$(CFLAGS) -D$(2) -MMD -MP -c $$< -o $$@
$(BUILD)/bin/raftsim-$(1): $(call objs,$(SIM_SRCS)) $(patsubst %.c,$(BUILD)/sim-$(1)/%.o,$(SIM_CORE_SRCS)) $(call libs,common)
	@mkdir -p $$(@D)
	$$(CC) $$(LDFLAGS) $$^ -o $$@ $$(LDLIBS)
endef
$(eval $(call sim_bug_build,bug-vote,RAFT_BUG_VOTE_WITHOUT_UPTODATE))
$(eval $(call sim_bug_build,bug-commit,RAFT_BUG_COMMIT_OLD_TERM))
$(eval $(call sim_bug_build,bug-self,RAFT_BUG_COUNT_SELF_EARLY))

SIM_BIN := $(BUILD)/bin/raftsim
SIM_BUG_BINS := $(BUILD)/bin/raftsim-bug-vote $(BUILD)/bin/raftsim-bug-commit \
                $(BUILD)/bin/raftsim-bug-self
# CI budget (test-sim well under 2 minutes): release runs ~13,000
# schedules a minute on one core, sanitizer builds 3-5x fewer.
ifeq ($(VARIANT),release)
SIM_TEST_SEEDS ?= 5000
else
SIM_TEST_SEEDS ?= 1000
endif
# bug-vote is caught in ~70% of seeds, bug-commit (Figure 8) in ~1%,
# bug-self (a leader counting its own not-yet-durable entries in the
# commit quorum; only the slow-disk profiles can show it) in ~15%.
SIM_TEETH_SEEDS ?= 2000

.PHONY: test-sim sim-teeth
test-sim: $(SIM_BIN) sim-teeth
	$(SIM_BIN) --quiet --seeds $(SIM_TEST_SEEDS)

# Each run's whole output (with the violation report) stays in
# $(BUILD)/sim-teeth-*.log; the summary lines are shown.
sim-teeth: $(SIM_BUG_BINS)
	@set -e; for b in $(SIM_BUG_BINS); do \
	    log=$(BUILD)/sim-teeth-$${b##*/raftsim-}.log; \
	    echo "== $$b: planted bug, must be caught within $(SIM_TEETH_SEEDS) seeds"; \
	    if $$b --expect-violation --seeds $(SIM_TEETH_SEEDS) >$$log 2>&1; \
	    then rc=0; else rc=1; fi; \
	    grep -E '^(=== VIOLATION|seed [0-9]+, step|replay:|teeth:)' $$log || true; \
	    echo "   (full report: $$log)"; \
	    test $$rc -eq 0; \
	done
EXTRA_TESTS += test-sim

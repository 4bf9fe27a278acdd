# Makefile - one non-recursive build for the whole lab suite.
#
# Each directory describes itself in <dir>/module.mk using the macros below;
# this file only holds flags, variants and the top-level goals.
#
#   make                 build everything (release variant, build/release/)
#   make asan <goal>     same goal, AddressSanitizer + UBSan build (build/asan/)
#   make tsan <goal>     same goal, ThreadSanitizer build (build/tsan/)
#   make test-unit       cmocka unit tests
#   make test            every test the project has
#   make test-labN[X]    one lab's graded tests (see test-scripts/)

VARIANT ?= release
ifneq ($(filter asan,$(MAKECMDGOALS)),)
VARIANT := asan
endif
ifneq ($(filter tsan,$(MAKECMDGOALS)),)
VARIANT := tsan
endif
# BUILDDIR lets parallel developers/CI jobs keep separate trees.
BUILDDIR ?= build
BUILD := $(BUILDDIR)/$(VARIANT)

# --- dependencies (Debian: libmsgpack-dev libcmocka-dev libsodium-dev) ------
# A fresh machine sets itself up: as root the missing packages are
# installed on the spot; otherwise make stops with the one command to run.
DEPS_OK := $(shell test-scripts/deps.sh check >/dev/null 2>&1 && echo yes)
ifneq ($(DEPS_OK),yes)
ifeq ($(filter deps clean distclean,$(MAKECMDGOALS)),)
ifeq ($(shell id -u),0)
$(info missing build dependencies: installing them (test-scripts/deps.sh install) ...)
DEPS_LOG := $(shell test-scripts/deps.sh install >&2; echo done)
DEPS_OK := $(shell test-scripts/deps.sh check >/dev/null 2>&1 && echo yes)
endif
ifneq ($(DEPS_OK),yes)
$(error missing build dependencies; as root run: apt-get update && apt-get install -y $(shell test-scripts/deps.sh packages))
endif
endif
endif
MSGPACK_CFLAGS := $(shell pkg-config --cflags msgpack 2>/dev/null)
MSGPACK_LIBS := $(shell pkg-config --libs msgpack 2>/dev/null)
CMOCKA_CFLAGS := $(shell pkg-config --cflags cmocka 2>/dev/null)
CMOCKA_LIBS := $(shell pkg-config --libs cmocka 2>/dev/null)
SODIUM_CFLAGS := $(shell pkg-config --cflags libsodium 2>/dev/null)
SODIUM_LIBS := $(shell pkg-config --libs libsodium 2>/dev/null)

# --- flags -----------------------------------------------------------------
WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
        -Wpointer-arith -Wformat=2 -Wvla -Wundef -Wwrite-strings -Wnull-dereference
OPT_release := -O2
OPT_asan := -O1 -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
OPT_tsan := -O1 -fsanitize=thread -fno-omit-frame-pointer
CFLAGS := -std=c11 -D_GNU_SOURCE -g -pthread -I. $(OPT_$(VARIANT)) $(WARN) $(MSGPACK_CFLAGS) $(SODIUM_CFLAGS) $(CMOCKA_CFLAGS) $(EXTRA_CFLAGS)
LDFLAGS := -pthread $(OPT_$(VARIANT)) $(EXTRA_LDFLAGS)
LDLIBS := $(MSGPACK_LIBS) $(SODIUM_LIBS) -ldl -lm

# --- module macros -----------------------------------------------------------
# $(call objs,SRCS): object paths for sources.
objs = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))
# $(call libs,NAMES): archive paths, in the given (dependents-first) order.
libs = $(foreach l,$(1),$(BUILD)/lib/lib$(l).a)

# $(call module_lib,NAME,SRCS): static library $(BUILD)/lib/libNAME.a
define module_lib
$(BUILD)/lib/lib$(1).a: $(call objs,$(2))
	@mkdir -p $$(@D)
	@rm -f $$@
	$$(AR) rcs $$@ $$^
ALL_TARGETS += $(BUILD)/lib/lib$(1).a
endef

# $(call program,NAME,SRCS,LIBS): executable $(BUILD)/bin/NAME
define program
$(BUILD)/bin/$(1): $(call objs,$(2)) $(call libs,$(3))
	@mkdir -p $$(@D)
	$$(CC) $$(LDFLAGS) $$^ -o $$@ $$(LDLIBS)
ALL_TARGETS += $(BUILD)/bin/$(1)
endef

# $(call unit_test,NAME,SRCS,LIBS): cmocka test $(BUILD)/tests/NAME, run by test-unit
define unit_test
$(BUILD)/tests/$(1): $(call objs,$(2)) $(call libs,$(3))
	@mkdir -p $$(@D)
	$$(CC) $$(LDFLAGS) $$^ -o $$@ $$(CMOCKA_LIBS) $$(LDLIBS)
ALL_TARGETS += $(BUILD)/tests/$(1)
UNIT_TESTS += $(BUILD)/tests/$(1)
endef

# $(call plugin,NAME,SRCS): shared object $(BUILD)/apps/NAME.so (MapReduce apps)
define plugin
$(BUILD)/apps/$(1).so: $(patsubst %.c,$(BUILD)/pic/%.o,$(2))
	@mkdir -p $$(@D)
	$$(CC) -shared $$(LDFLAGS) $$^ -o $$@
ALL_TARGETS += $(BUILD)/apps/$(1).so
endef

# $(call bug_test,NAME,SRC,MACRO,TESTSRCS,LIBS): test binary $(BUILD)/tests/NAME
# with a planted bug: SRC compiled again with -DMACRO and linked ahead of LIBS,
# whose own object of SRC is then never pulled in. Not in ALL_TARGETS.
define bug_test
$(BUILD)/bug-$(1)/$(2:.c=.o): $(2)
	@mkdir -p $$(@D)
	$$(CC) $$(CFLAGS) -D$(3) -MMD -MP -c $$< -o $$@
$(BUILD)/tests/$(1): $(call objs,$(4)) $(BUILD)/bug-$(1)/$(2:.c=.o) $(call libs,$(5))
	@mkdir -p $$(@D)
	$$(CC) $$(LDFLAGS) $(if $(filter labs/timeline/raft_tap.c,$(4)),$$(TIMELINE_TAP_LDFLAGS)) $$^ -o $$@ $$(LDLIBS)
endef

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/pic/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -fPIC -MMD -MP -c $< -o $@

# --- modules, in dependency order -------------------------------------------
MODULES := common rpc mr kvsrv raft kvraft shardctrler shardkv labs bench
ALL_TARGETS :=
UNIT_TESTS :=
include $(foreach m,$(MODULES),$(wildcard $(m)/module.mk $(m)/*/module.mk))

# --- goals ---------------------------------------------------------------------
.DEFAULT_GOAL := all
.PHONY: all asan tsan deps test test-unit check-layers clean distclean
all: $(ALL_TARGETS)
asan tsan: all

deps:
	test-scripts/deps.sh install

# Unit tests: each binary under a hard limit (cmocka has no per-test timeout).
# UNIT_TEST_LABS ("name:lab" words, from the modules) marks the unit tests
# of code students write, so a failure there is reported as pending a lab.
test-unit: $(UNIT_TESTS)
	@UNIT_TEST_LABS="$(UNIT_TEST_LABS)" test-scripts/run-unit.sh $(UNIT_TESTS)

# The dependency rule: which module may include which (the table is in
# test-scripts/check-layers.sh).
check-layers:
	@test-scripts/check-layers.sh

# Self-tests of the classroom tooling that need no lab build.
.PHONY: test-tools
test-tools:
	@test-scripts/test-stress.sh

# make test: the quick checks first, then every suite of EXTRA_TESTS,
# TEST_JOBS at a time. The graded suites sleep most of the time (~15% of a
# core), so two side by side on 2 cores take about half the wall time; each
# suite's output is printed whole when it ends (--output-sync), so logs do
# not interleave. TEST_JOBS=1 runs them one after another.
TEST_JOBS ?= 2
test: check-layers test-unit test-tools
	@$(MAKE) --no-print-directory -j$(TEST_JOBS) --output-sync=target \
	    VARIANT=$(VARIANT) BUILDDIR=$(BUILDDIR) test-suites
.PHONY: test-suites
test-suites: $(EXTRA_TESTS)

clean:
	rm -rf $(BUILD)
distclean:
	rm -rf $(BUILDDIR)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

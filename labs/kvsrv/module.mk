# labs/kvsrv/ - the 9 graded lab 2 tests (single-server KV) and their config.
#
#   make test-lab2                   (make asan test-lab2, make tsan test-lab2)
#   build/release/tests/lab2 --list | [--seed N] TestName...
#
# test-scripts/run-lab.py runs each test in its own process under the 120 s
# per-test and 600 s per-lab limits and keeps the logs of failures.
LAB2_SRCS := labs/kvsrv/lab2.c labs/kvsrv/config.c labs/kvsrv/kvtest.c
LAB2_LIBS := labtester labnet labtimeline porcupine kvsrv rpc common
LAB2_BIN := $(BUILD)/tests/lab2
KV_LAB_TIMEOUT := $(if $(filter release,$(VARIANT)),600,1200)
KV_RUN_LAB := test-scripts/run-lab.py --total-timeout $(KV_LAB_TIMEOUT)

ifneq ($(and $(wildcard rpc/module.mk),$(wildcard labs/net/module.mk),$(wildcard labs/porcupine/module.mk)),)
$(LAB2_BIN): $(call objs,$(LAB2_SRCS)) $(call libs,$(LAB2_LIBS))
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) $^ -o $@ $(LDLIBS)
ALL_TARGETS += $(LAB2_BIN)
endif

.PHONY: test-lab2
test-lab2: $(LAB2_BIN)
	@$(KV_RUN_LAB) --label lab2 $(LAB2_BIN)
EXTRA_TESTS += test-lab2

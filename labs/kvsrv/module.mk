# labs/kvsrv/ - the 9 graded lab 2 tests (single-server KV) and their config.
#
#   make test-lab2                   (make asan test-lab2, make tsan test-lab2)
#   build/release/tests/lab2 --list | [--seed N] TestName...
#
# test-scripts/run-lab.py runs each test in its own process under the 120 s
# per-test and 600 s per-lab limits and keeps the logs of failures.
LAB2_SRCS := labs/kvsrv/lab2.c labs/kvsrv/config.c labs/kvsrv/kvtest.c \
             labs/kvsrv/heapcount.c
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

# The memory tests measure the whole heap (heapcount.c): a server keeping a
# private copy of a value outside the given tables (tests/plant_cache.c,
# wrapped around kv_map_put) must fail TestMemPut2.
ifneq ($(and $(wildcard rpc/module.mk),$(wildcard labs/net/module.mk),$(wildcard labs/porcupine/module.mk)),)
$(eval $(call unit_test,test_heapcount,labs/kvsrv/tests/test_heapcount.c labs/kvsrv/heapcount.c,common))
LAB2_PLANT_BIN := $(BUILD)/tests/lab2-plant-cache
$(LAB2_PLANT_BIN): $(call objs,$(LAB2_SRCS) labs/kvsrv/tests/plant_cache.c) $(call libs,$(LAB2_LIBS))
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -Wl,--wrap=kv_map_put $^ -o $@ $(LDLIBS)

.PHONY: test-lab2-heap
test-lab2-heap: $(LAB2_PLANT_BIN)
	@out=$$($(LAB2_PLANT_BIN) --timeout 60 TestMemPut2 2>&1); rc=$$?; \
	if [ $$rc -ne 0 ] && echo "$$out" | grep -q "too much memory"; then \
	    echo "test-lab2-heap: ok (a value cached outside the tables fails TestMemPut2)"; \
	else echo "$$out"; echo "test-lab2-heap: FAIL: the planted cache was not caught"; exit 1; fi
EXTRA_TESTS += test-lab2-heap
endif

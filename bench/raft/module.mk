# bench/raft/ - bench-raft: Raft commit throughput and latency over real
# loopback TCP, with a raw TCP round trip measured in the same run.
#   make bench-raft            (build and run; never gates anything)
BENCH_RAFT_BIN := $(BUILD)/bin/bench-raft
ifneq ($(wildcard rpc/module.mk),)
$(eval $(call program,bench-raft,bench/raft/bench_raft.c,raft rpc common))
endif

.PHONY: bench-raft
bench-raft: $(BENCH_RAFT_BIN)
	$(BENCH_RAFT_BIN) $(BENCH_RAFT_ARGS)

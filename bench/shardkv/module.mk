# bench/shardkv/ - bench-shardkv: scale-out (1 vs 3 groups) and shard
# migration time (1 MiB, 10 MiB) of the lab 5 sharded KV, in process over
# loopback TCP. `make bench-shardkv`; the last line printed is
# shardkv_scaleout=<3-group ops/s / 1-group ops/s>.
ifneq ($(wildcard rpc/module.mk),)
$(eval $(call program,bench-shardkv,bench/shardkv/bench_shardkv.c,shardkv shardctrler kvsrv raft rpc common))
endif

.PHONY: bench-shardkv
bench-shardkv: $(BUILD)/bin/bench-shardkv
	@$(BUILD)/bin/bench-shardkv $(if $(BENCH_SHARDKV_SECONDS),-d $(BENCH_SHARDKV_SECONDS))

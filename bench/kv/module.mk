# bench/kv/ - bench-kv: latency and throughput of the lab 4 KV service, in
# process (3 servers over loopback TCP) and against the kvserver daemons
# (on-disk persister). `make bench-kv`; the last line printed is
# kv_ops_per_sec_16=<ops/s with 16 clerks, in process>.
ifneq ($(wildcard rpc/module.mk),)
$(eval $(call program,bench-kv,bench/kv/bench_kv.c,kvraft kvsrv raft rpc common))
endif

.PHONY: bench-kv
bench-kv: $(BUILD)/bin/bench-kv $(BUILD)/bin/kvserver $(BUILD)/bin/kvcli
	@bench/kv/run.sh $(BUILD)/bin

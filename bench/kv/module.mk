# bench/kv/ - bench-kv: latency and throughput of the lab 4 KV service, in
# process (3 servers over loopback TCP) and against the kvserver daemons
# (on-disk persister), put latency growth with the data stored, and the
# comparison with etcd (bench/kv/etcd.sh). `make bench-kv`; the last line
# printed is kv_daemon_vs_etcd=<ours / etcd> (or, without etcd,
# kv_put_latency_growth=).
ifneq ($(wildcard rpc/module.mk),)
$(eval $(call program,bench-kv,bench/kv/bench_kv.c,kvraft kvsrv raft rpc common))
endif

.PHONY: bench-kv
bench-kv: $(BUILD)/bin/bench-kv $(BUILD)/bin/kvserver $(BUILD)/bin/kvcli
	@bench/kv/run.sh $(BUILD)/bin

/* bench_rpc.h - internals shared by bench-rpc's two files: the raw TCP
 * ping-pong baseline (raw_tcp.c) used by the driver (bench_rpc.c). */
#ifndef BENCH_RPC_BENCH_RPC_H_
#define BENCH_RPC_BENCH_RPC_H_

#include <stddef.h>
#include <stdint.h>

struct bench_raw;

/* A connected loopback pair whose server thread answers every req_size
 * bytes with rep_size bytes (both <= 4096). Returns owned. */
struct bench_raw *bench_raw_start(size_t req_size, size_t rep_size);
/* Time n round trips; ns[i] is the i-th in nanoseconds. */
void bench_raw_rtts(struct bench_raw *r, uint64_t *ns, size_t n);
/* Close both sides and join the server thread; frees r. */
void bench_raw_stop(struct bench_raw *r);
/* Round trips per second of ncallers threads, each ping-ponging on its own
 * connection, over duration_ms (a reference for rpc throughput). */
double bench_raw_throughput(size_t req_size, size_t rep_size, int ncallers,
                            uint64_t duration_ms);

#endif /* BENCH_RPC_BENCH_RPC_H_ */

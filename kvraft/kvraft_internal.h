/* kvraft_internal.h - shared by kvraft's files: the replicated command
 * format. A command is a msgpack map {o: type, k: key, v: value (not for
 * Get), c: client id, s: seq}; short keys keep log entries small for the
 * byte-counted limits (maxraftstate, snapshot size). */
#ifndef KVRAFT_KVRAFT_INTERNAL_H_
#define KVRAFT_KVRAFT_INTERNAL_H_

#include <msgpack.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

enum kv_op_type { KV_OP_GET = 0, KV_OP_PUT = 1, KV_OP_APPEND = 2 };

struct kv_op {
    int type;
    const char *key; /* borrowed */
    size_t klen;
    const char *val; /* borrowed */
    size_t vlen;
    uint64_t client;
    uint64_t seq;  /* 0: anonymous (no duplicate detection) */
    int64_t term;  /* term of the log entry, when applied */
};

/* Append the encoding of op to out. */
void kv_op_encode(const struct kv_op *op, struct buf *out);
/* Decode data into op; op's strings borrow from u (initialised by the
 * caller, destroyed after op is no longer used). 0 or ERR_CORRUPT. */
int kv_op_decode(const void *data, size_t len, msgpack_unpacked *u,
                 struct kv_op *op);

#endif /* KVRAFT_KVRAFT_INTERNAL_H_ */

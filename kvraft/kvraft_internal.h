/* kvraft_internal.h - shared by kvraft's files: the operation record used
 * by the clerk (RPC arguments) and the server, and the replicated command
 * format. A command is a msgpack map {o: type, k: key, v: value (not for
 * Get)}; the client id and seq travel in rsm's envelope around it. Short
 * keys keep log entries small for the byte-counted limits (maxraftstate,
 * snapshot size). */
/* SOLUTION FILE */
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
    uint64_t client; /* RPC arguments only, not in the command */
    uint64_t seq;    /* 0: anonymous (no duplicate detection) */
};

/* Append the command encoding of op (type, key, value) to out. */
void kv_op_encode(const struct kv_op *op, struct buf *out);
/* Decode data into op; op's strings borrow from u (initialised by the
 * caller, destroyed after op is no longer used). 0 or ERR_CORRUPT. */
int kv_op_decode(const void *data, size_t len, msgpack_unpacked *u,
                 struct kv_op *op);

#endif /* KVRAFT_KVRAFT_INTERNAL_H_ */

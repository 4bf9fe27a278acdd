/* err.h - the project's one error-code enum, with names and messages.
 *
 * Functions that can fail return 0 or one of these negative codes. Codes that
 * travel on the wire (RPC error strings, KV replies) use err_name(), e.g.
 * "ETIMEOUT"; err_parse() maps a name back to its code. */
#ifndef COMMON_ERR_H_
#define COMMON_ERR_H_

#include <stddef.h>

/* X(code, value, name, message) */
#define ERR_TABLE(X)                                                          \
    X(ERR_OK, 0, "OK", "success")                                             \
    X(ERR_NOMEM, -1, "ENOMEM", "out of memory")                               \
    X(ERR_IO, -2, "EIO", "I/O error")                                         \
    X(ERR_TIMEOUT, -3, "ETIMEOUT", "timed out")                               \
    X(ERR_CLOSED, -4, "ECLOSED", "closed or shut down")                       \
    X(ERR_PROTO, -5, "EPROTO", "malformed message")                           \
    X(ERR_TOOBIG, -6, "ETOOBIG", "message exceeds size limit")                \
    X(ERR_NOMETHOD, -7, "ENOMETHOD", "unknown service or method")             \
    X(ERR_BADARGS, -8, "EBADARGS", "bad arguments")                           \
    X(ERR_UNREACHABLE, -9, "EUNREACHABLE", "destination unreachable")         \
    X(ERR_DROPPED, -10, "EDROPPED", "message dropped")                        \
    X(ERR_INVAL, -11, "EINVAL", "invalid argument")                           \
    X(ERR_NOTFOUND, -12, "ENOTFOUND", "not found")                            \
    X(ERR_EXISTS, -13, "EEXISTS", "already exists")                           \
    X(ERR_REMOTE, -14, "EREMOTE", "remote side reported an error")            \
    X(ERR_ADDR, -15, "EADDR", "bad address")                                  \
    X(ERR_WRONG_LEADER, -16, "ErrWrongLeader", "not the leader")              \
    X(ERR_NO_KEY, -17, "ErrNoKey", "no such key")                             \
    X(ERR_WRONG_GROUP, -18, "ErrWrongGroup", "shard not served by this group")\
    X(ERR_NOT_READY, -19, "ErrNotReady", "shard not ready yet")               \
    X(ERR_CORRUPT, -20, "ECORRUPT", "corrupt data")                          \
    X(ERR_AUTH, -21, "EAUTH", "not authenticated")

enum err {
#define ERR_ENUM_(code, value, name, msg) code = value,
    ERR_TABLE(ERR_ENUM_)
#undef ERR_ENUM_
};

/* Short stable name ("ETIMEOUT"); "EUNKNOWN" for codes not in the table. */
const char *err_name(int code);
/* Human-readable message ("timed out"). */
const char *err_msg(int code);
/* Code for a name from err_name() (len bytes, need not be NUL-terminated);
 * ERR_REMOTE if the name is not known. */
int err_parse(const char *name, size_t len);

#endif /* COMMON_ERR_H_ */

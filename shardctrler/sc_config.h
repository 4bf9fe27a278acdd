/* sc_config.h - shard configurations and the deterministic rebalancer.
 *
 * A configuration maps each of SC_NSHARDS shards to a replica group id
 * (gid 0 = unassigned) and lists each group's servers. Join/Leave/Move
 * each produce the next configuration (num + 1) in place.
 *
 * Rebalancing is deterministic (every replica computes the same result from
 * the same log) and optimal in two senses, which the tests check:
 *   - balance: shard counts per group differ by at most one;
 *   - minimal movement: a shard moves only if its group left, it was
 *     unassigned, or its group held more than its target. Targets are
 *     base = NSHARDS / ngroups, with the NSHARDS % ngroups "+1" slots given
 *     to the groups that already hold the most shards (ties: smaller gid),
 *     which is what makes the number of moved shards the minimum possible.
 *
 * Ownership: a struct sc_config owns its groups array and every server
 * string. Not thread-safe (callers hold their own lock). */
#ifndef SHARDCTRLER_SC_CONFIG_H_
#define SHARDCTRLER_SC_CONFIG_H_

#include <msgpack.h>
#include <stdbool.h>
#include <stdint.h>

#define SC_NSHARDS 10

struct sc_group {
    int gid;       /* > 0 */
    int nservers;
    char **servers; /* owned strings, in the order given at Join */
};

struct sc_config {
    int64_t num;
    int shards[SC_NSHARDS]; /* shard -> gid (0 = none) */
    int ngroups;
    struct sc_group *groups; /* owned, sorted by gid */
};

/* Configuration 0: no groups, every shard on gid 0. */
void sc_config_init(struct sc_config *c);
void sc_config_free(struct sc_config *c);
/* Deep copy (dst is overwritten, not freed first). */
void sc_config_copy(struct sc_config *dst, const struct sc_config *src);
bool sc_config_equal(const struct sc_config *a, const struct sc_config *b);
/* The group with gid, or NULL. */
const struct sc_group *sc_config_group(const struct sc_config *c, int gid);

/* Next configuration after adding groups (copied; a gid already present is
 * replaced with the new server list), then rebalancing. ERR_INVAL for
 * gid <= 0 (nothing changes). */
int sc_config_join(struct sc_config *c, const struct sc_group *groups, int n);
/* Next configuration after removing gids (absent ones are ignored), then
 * rebalancing their shards onto the rest. */
int sc_config_leave(struct sc_config *c, const int *gids, int n);
/* Next configuration with shard assigned to gid (no rebalancing; a later
 * join/leave may undo it). ERR_INVAL for a bad shard or unknown gid. */
int sc_config_move(struct sc_config *c, int shard, int gid);
/* Rebalance in place (does not bump num). */
void sc_config_rebalance(struct sc_config *c);

/* Wire form: {"n": num, "s": [10 gids], "g": [[gid, [servers...]], ...]}.
 * sc_config_unpack returns 0 or ERR_BADARGS (c then holds config 0). */
void sc_config_pack(msgpack_packer *pk, const struct sc_config *c);
int sc_config_unpack(const msgpack_object *o, struct sc_config *c);

/* Shard of a key: its first byte modulo SC_NSHARDS (0 for ""), as 6.5840's
 * key2shard. */
int sc_key2shard(const char *key, size_t len);

#endif /* SHARDCTRLER_SC_CONFIG_H_ */

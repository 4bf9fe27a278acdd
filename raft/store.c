/* store.c - the core's changes written incrementally to the persister
 * (see store.h). */
/* SOLUTION FILE */
#include "raft/store.h"

static void note_head(struct raft_store *s, const struct raft_core *c)
{
    s->term = raft_core_term(c);
    s->vote = raft_core_voted_for(c);
    s->snap_index = raft_core_snapshot_index(c);
    s->snap_term = raft_core_snapshot_term(c);
}

static bool head_changed(const struct raft_store *s, const struct raft_core *c)
{
    return s->term != raft_core_term(c) || s->vote != raft_core_voted_for(c) ||
           s->snap_index != raft_core_snapshot_index(c) ||
           s->snap_term != raft_core_snapshot_term(c);
}

/* Store the snapshot with the head that goes with it. */
static int save_snapshot(struct raft_store *s, const struct raft_core *c)
{
    buf_clear(&s->scratch);
    raft_core_encode_head(c, &s->scratch);
    size_t len;
    const uint8_t *snap = raft_core_snapshot(c, &len);
    return persister_log_snapshot(s->ps, raft_core_snapshot_index(c),
                                  s->scratch.data, s->scratch.len, snap, len);
}

/* Store the entries from..last (those above the snapshot). */
static int save_entries(struct raft_store *s, const struct raft_core *c,
                        int64_t from)
{
    int64_t si = raft_core_snapshot_index(c);
    int64_t last = raft_core_last_index(c);
    int rc = 0;
    for (int64_t i = from > si ? from : si + 1; rc == 0 && i <= last; i++) {
        buf_clear(&s->scratch);
        raft_core_encode_entry(c, i, &s->scratch);
        rc = persister_log_append(s->ps, i, s->scratch.data, s->scratch.len);
    }
    return rc;
}

int raft_store_open(struct raft_store *s, struct persister *ps,
                    const struct raft_core *c)
{
    s->ps = ps;
    buf_init(&s->scratch);
    note_head(s, c);
    if (persister_log_active(ps))
        return 0;
    /* A new store, or one written with persister_save(): rewrite it in
     * the log view once: the head with the snapshot, then every entry. */
    int rc = save_snapshot(s, c);
    if (rc == 0)
        rc = save_entries(s, c, 1);
    uint64_t ticket = 0;
    if (rc == 0)
        rc = persister_log_flush(ps, &ticket);
    if (rc == 0)
        rc = persister_sync(ps, ticket);
    return rc;
}

void raft_store_close(struct raft_store *s)
{
    buf_free(&s->scratch);
}

int raft_store_save(struct raft_store *s, const struct raft_core *c,
                    const struct raft_update *u, uint64_t *ticket)
{
    int rc = 0;
    int64_t from = u->log_from;
    bool head_saved = false;
    /* The order makes every prefix of these writes a valid state, since a
     * crash may keep any prefix of them: truncate before a snapshot, so
     * entries that do not follow it (InstallSnapshot discarding a
     * conflicting log) never outlive it; the head (a new term) before
     * entries of that term, which restore checks against it. */
    if (from != INT64_MAX)
        rc = persister_log_truncate(s->ps, from);
    if (rc == 0 && u->snap_changed) {
        rc = save_snapshot(s, c);
        head_saved = true;
    }
    if (rc == 0 && !head_saved && head_changed(s, c)) {
        buf_clear(&s->scratch);
        raft_core_encode_head(c, &s->scratch);
        rc = persister_log_head(s->ps, s->scratch.data, s->scratch.len);
    }
    if (rc == 0 && from != INT64_MAX)
        rc = save_entries(s, c, from);
    if (rc == 0)
        rc = persister_log_flush(s->ps, ticket);
    if (rc != 0)
        return rc;
    note_head(s, c);
    return 0;
}

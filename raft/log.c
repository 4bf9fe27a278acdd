/* log.c - the in-memory Raft log: a growable array of entries that starts
 * just after the snapshot point, so compaction drops a prefix and index
 * arithmetic stays in one place. */
/* SOLUTION FILE */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "raft/raft_internal.h"

void raft_log_init(struct raft_log *l)
{
    memset(l, 0, sizeof(*l));
    l->changed_from = INT64_MAX;
}

static void entry_free(struct raft_log_entry *e)
{
    free(e->data);
    e->data = NULL;
    e->len = 0;
}

void raft_log_free(struct raft_log *l)
{
    for (size_t i = 0; i < l->n; i++)
        entry_free(&l->entries[i]);
    free(l->entries);
    raft_log_init(l);
}

int64_t raft_log_last_index(const struct raft_log *l)
{
    return l->snap_index + (int64_t)l->n;
}

int64_t raft_log_last_term(const struct raft_log *l)
{
    return l->n ? l->entries[l->n - 1].term : l->snap_term;
}

int64_t raft_log_term_at(const struct raft_log *l, int64_t index)
{
    if (index == l->snap_index)
        return l->snap_term;
    const struct raft_log_entry *e = raft_log_get(l, index);
    return e ? e->term : -1;
}

const struct raft_log_entry *raft_log_get(const struct raft_log *l,
                                          int64_t index)
{
    if (index <= l->snap_index || index > raft_log_last_index(l))
        return NULL;
    return &l->entries[index - l->snap_index - 1];
}

void raft_log_append(struct raft_log *l, int64_t term, const void *data,
                     size_t len)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 16;
        l->entries = xrealloc(l->entries, l->cap * sizeof(*l->entries));
    }
    struct raft_log_entry *e = &l->entries[l->n++];
    if (raft_log_last_index(l) < l->changed_from)
        l->changed_from = raft_log_last_index(l);
    e->term = term;
    e->len = len;
    e->data = NULL;
    if (len) {
        e->data = xmalloc(len);
        memcpy(e->data, data, len);
    }
}

void raft_log_truncate_from(struct raft_log *l, int64_t index)
{
    assert(index > l->snap_index);
    if (index <= raft_log_last_index(l) && index < l->changed_from)
        l->changed_from = index;
    if (l->durable >= index)
        l->durable = index - 1;
    while (raft_log_last_index(l) >= index)
        entry_free(&l->entries[--l->n]);
}

void raft_log_compact(struct raft_log *l, int64_t index, int64_t term)
{
    if (index <= l->snap_index)
        return;
    size_t drop = (size_t)(index - l->snap_index);
    if (drop > l->n)
        drop = l->n;
    for (size_t i = 0; i < drop; i++)
        entry_free(&l->entries[i]);
    if (l->n > drop)
        memmove(l->entries, l->entries + drop,
                (l->n - drop) * sizeof(*l->entries));
    l->n -= drop;
    l->snap_index = index;
    l->snap_term = term;
    /* Give memory back when the log shrank a lot ("discarded entries must
     * be freeable"). */
    if (l->cap > 64 && l->n < l->cap / 4) {
        l->cap = l->n < 16 ? 16 : l->n * 2;
        l->entries = xrealloc(l->entries, l->cap * sizeof(*l->entries));
    }
}

int64_t raft_log_first_index_of_term(const struct raft_log *l, int64_t from)
{
    int64_t term = raft_log_term_at(l, from);
    int64_t i = from;
    while (i - 1 > l->snap_index && raft_log_term_at(l, i - 1) == term)
        i--;
    return i;
}

int64_t raft_log_last_index_of_term(const struct raft_log *l, int64_t from,
                                    int64_t term)
{
    int64_t last = raft_log_last_index(l);
    if (from > last)
        from = last;
    for (int64_t i = from; i > l->snap_index; i--) {
        int64_t t = raft_log_term_at(l, i);
        if (t == term)
            return i;
        if (t < term) /* terms only grow along the log */
            break;
    }
    return 0;
}

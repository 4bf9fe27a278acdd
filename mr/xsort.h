/* xsort.h - external sort for a reduce task: groups (key, value) records
 * by key in key order within a memory budget, spilling sorted runs to disk
 * and merging them (MapReduce paper §3.1/§4.2).
 *
 * Use: mr_xsort_new, mr_xsort_add for every record (any order), then
 * mr_xsort_next repeatedly. Records up to the budget are kept in memory;
 * beyond it each full batch is sorted and written to a run file (a
 * temporary, mr-tmp-*, in the given directory, so a crash leaves nothing
 * a later mr_tmp_sweep does not remove); at the end the runs are merged
 * with a heap, reading each through a small buffer. Memory is bounded by
 * the budget plus 64 KiB per run, except that one key's values are held
 * together (the Reduce ABI passes them as one array).
 *
 * Not thread-safe: one task's thread owns the sorter. */
#ifndef MR_XSORT_H_
#define MR_XSORT_H_

#include <stddef.h>
#include <stdint.h>

struct mr_xsort;

/* dir: where runs go ("" or a path ending in '/'); budget: bytes of
 * records held in memory before a spill (at least 64 KiB is used).
 * Returns owned; free with mr_xsort_free. */
struct mr_xsort *mr_xsort_new(const char *dir, size_t budget);
/* Copy one record in. 0, or ERR_IO (errno set) if a spill failed. */
int mr_xsort_add(struct mr_xsort *x, const char *key, size_t klen,
                 const char *val, size_t vlen);
/* The next key and all its values, keys in bytewise order (a proper
 * prefix first). 1 and the out-parameters set (borrowed until the next
 * call; strings NUL-terminated), 0 at the end, or ERR_IO / ERR_CORRUPT.
 * After the first call, add may no longer be called. */
int mr_xsort_next(struct mr_xsort *x, const char **key, size_t *klen,
                  const char *const **vals, const size_t **lens, size_t *n);
/* Runs written so far (0 when everything fitted in memory). */
size_t mr_xsort_runs(const struct mr_xsort *x);
/* Close and remove the run files and free everything. NULL is a no-op. */
void mr_xsort_free(struct mr_xsort *x);

#endif /* MR_XSORT_H_ */

/* mr_app.h - the plugin ABI for MapReduce applications (what an app writer
 * implements; the C counterpart of 6.5840's `Map`/`Reduce` Go plugins).
 *
 * An application is a shared object that exports two functions named
 * exactly `Map` and `Reduce` (mrworker and mrsequential find them with
 * dlsym). Build one with the `plugin` macro of the top Makefile, e.g. in a
 * module.mk:
 *
 *     $(eval $(call plugin,wc,mr/apps/wc.c))     # -> $(BUILD)/apps/wc.so
 *
 * or by hand: cc -std=c11 -fPIC -shared -I. wc.c -o wc.so
 *
 * Apps should use only libc (they are loaded into a process that has its
 * own copies of the project's libraries) and keep helpers `static`.
 *
 * Strings. Keys, values, file names and contents are byte strings with an
 * explicit length; every pointer handed to the app is also NUL-terminated
 * (the terminator is not counted), so text apps may use C string functions.
 * Keys and values may contain any bytes, including NUL and newline, but an
 * output line is written as "<key> <value>\n" (Go's "%v %v\n"), so apps
 * whose output is read line by line should avoid newlines.
 *
 * Ownership. Everything passed to Map/Reduce is borrowed and valid only
 * until that call returns. The emit/output callbacks copy what they are
 * given before returning, so apps may pass stack buffers and reuse them.
 *
 * Threads. A worker calls Map or Reduce from one thread at a time, but an
 * app must not assume which thread or that its globals start fresh for each
 * task: one worker process runs many tasks.
 *
 * Failure. Returning nonzero from Map/Reduce (or exiting, or crashing) fails
 * the task: the worker prints a message and exits with status 1 without
 * reporting the task, and the coordinator gives the task to another worker
 * (immediately if the worker reported the failure, else after the task
 * timeout). Output of a failed task is never visible: workers write through
 * temporary files that are renamed into place only once complete. */
#ifndef MR_MR_APP_H_
#define MR_MR_APP_H_

#include <stddef.h>

/* Called by Map once per intermediate pair. `ctx` is the opaque pointer Map
 * received. Copies key and value. */
typedef void (*mr_emit_fn)(void *ctx, const char *key, size_t key_len,
                           const char *value, size_t value_len);

/* Called by Reduce to produce its output string; several calls append
 * (like writing to a string builder). A Reduce that never calls it outputs
 * the empty string. Copies the bytes. */
typedef void (*mr_output_fn)(void *ctx, const char *data, size_t len);

/* Map: one call per input file (one map task), with the file name exactly
 * as given on the coordinator's (or mrsequential's) command line and the
 * whole file contents. Emit every intermediate pair through emit(ctx, ...).
 * Returns 0, or nonzero to fail the task. */
int Map(const char *filename, const char *contents, size_t contents_len,
        mr_emit_fn emit, void *ctx);

/* Reduce: one call per distinct intermediate key, with every value emitted
 * for that key by any Map (values[i] has length value_lens[i]; n >= 1). The
 * order of the values is unspecified (6.5840 sorts with an unstable sort).
 * Produce the output through output(ctx, ...); the framework writes the
 * line "<key> <output>\n" to mr-out-<reduce task number>.
 * Returns 0, or nonzero to fail the task. */
int Reduce(const char *key, size_t key_len, const char *const *values,
           const size_t *value_lens, size_t n, mr_output_fn output,
           void *ctx);

/* Function-pointer types of the two symbols, for loaders. */
typedef int (*mr_map_fn)(const char *, const char *, size_t, mr_emit_fn,
                         void *);
typedef int (*mr_reduce_fn)(const char *, size_t, const char *const *,
                            const size_t *, size_t, mr_output_fn, void *);

#endif /* MR_MR_APP_H_ */

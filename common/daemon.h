/* daemon.h - the small pieces every service daemon and CLI repeats:
 * parsing address lists and numbers from the command line, opening the
 * data directory's persister, and waiting for a shutdown signal.
 *
 * Daemons and CLIs call these from main() (rpc/end_pool.c and rpc/serve.c
 * build their address-list and serve-until-signal helpers on them); none
 * of it is meant for service code. Nothing here holds locks or starts
 * threads. */
#ifndef COMMON_DAEMON_H_
#define COMMON_DAEMON_H_

#include <signal.h>
#include <stdbool.h>

#include "common/persister.h"

/* Split "a,b,c" into owned strings out[0..n). Returns n, or -1 (nothing
 * kept) if an entry is empty or there are more than max. Free with
 * daemon_free_list. */
int daemon_split_list(const char *s, char **out, int max);
void daemon_free_list(char **list, int n);

/* Whole-string decimal integer in [lo, hi]; false on junk or overflow. */
bool daemon_parse_ll(const char *s, long long lo, long long hi,
                     long long *out);

/* Create dir if missing (one level), lock it (daemon_lock_data_dir) and
 * open its file-backed persister. Returns owned, or NULL with a message
 * on stderr prefixed by prog (the file and the errno text). */
struct persister *daemon_open_data_dir(const char *prog, const char *dir);
/* Take the exclusive lock dir/LOCK (flock; it holds our pid) for the rest
 * of the process's life (one directory per process: locking another
 * releases the first). 0, or -1 with a message: in use by another
 * process (naming its pid), or why the lock file cannot be used. */
int daemon_lock_data_dir(const char *prog, const char *dir);

/* Raise the soft open-file limit to the hard limit (a daemon's
 * connections must not starve its own files; the RPC server's connection
 * cap then leaves a reserve below it). */
void daemon_raise_fd_limit(void);

/* Block SIGTERM and SIGINT in the calling thread and in every thread it
 * starts afterwards (call it before starting any), and ignore SIGPIPE (a
 * peer closing a socket must not kill the daemon). */
void daemon_block_signals(sigset_t *set);
/* Wait for one of the blocked signals; returns its number. */
int daemon_wait_signal(const sigset_t *set);

/* For programs with short options only: --version anywhere before "--"
 * prints "<prog> <version>" and exits 0; returns 1 if --help is there
 * (the caller prints its usage to stdout and exits 0), else 0. */
int daemon_help_or_version(int argc, char **argv, const char *prog);

/* Quiet logging unless the user asked for it (LABLOG set): a daemon
 * should print only its own start and stop lines by default. */
void daemon_default_log(void);

/* Replicate each write at once (RAFT_BATCH_MS=0, see raft/raft_core.h)
 * unless the user set RAFT_BATCH_MS: a daemon's fsync already batches
 * concurrent writes, and a lone client should not wait for a window.
 * Call before starting Raft (and before other threads read the
 * environment). */
void daemon_default_batching(void);

#endif /* COMMON_DAEMON_H_ */

/* daemon_opts.h - the long options every RPC daemon shares: admission
 * control (rpc_admission), the connection cap and the cluster key, with
 * their --help text. Used from main() only (single-threaded, before any
 * server exists). */
#ifndef RPC_DAEMON_OPTS_H_
#define RPC_DAEMON_OPTS_H_

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>

#include "rpc/rpc.h"

enum {
    RPC_OPT_CLUSTER_KEY = 0x100,
    RPC_OPT_KEYED_CLIENTS,
    RPC_OPT_IDLE_TIMEOUT,
    RPC_OPT_READ_TIMEOUT,
    RPC_OPT_MAX_BUFFERED,
    RPC_OPT_MAX_INFLIGHT,
    RPC_OPT_MAX_HANDLERS,
    RPC_OPT_MAX_CONNS,
    RPC_OPT_VERSION,
};

/* Entries for getopt_long's table (end yours with {0}). */
#define RPC_DAEMON_LONGOPTS                                                   \
    {"cluster-key", required_argument, NULL, RPC_OPT_CLUSTER_KEY},            \
    {"keyed-clients", no_argument, NULL, RPC_OPT_KEYED_CLIENTS},              \
    {"idle-timeout", required_argument, NULL, RPC_OPT_IDLE_TIMEOUT},          \
    {"read-timeout", required_argument, NULL, RPC_OPT_READ_TIMEOUT},          \
    {"max-buffered", required_argument, NULL, RPC_OPT_MAX_BUFFERED},          \
    {"max-inflight", required_argument, NULL, RPC_OPT_MAX_INFLIGHT},          \
    {"max-handlers", required_argument, NULL, RPC_OPT_MAX_HANDLERS},          \
    {"max-conns", required_argument, NULL, RPC_OPT_MAX_CONNS},                \
    {"version", no_argument, NULL, RPC_OPT_VERSION},                          \
    {"help", no_argument, NULL, 'h'}

/* The CLIs' long options (--cluster-key FILE, --version, --help). */
#define RPC_CLIENT_LONGOPTS                                                   \
    {"cluster-key", required_argument, NULL, RPC_OPT_CLUSTER_KEY},            \
    {"version", no_argument, NULL, RPC_OPT_VERSION},                          \
    {"help", no_argument, NULL, 'h'}

struct rpc_daemon_opts {
    struct rpc_admission adm;
    size_t max_conns;
    const char *cluster_key; /* file, or NULL */
    bool keyed_clients;
};

/* Daemon defaults (rpc_admission_daemon_defaults, 1024 connections). */
void rpc_daemon_opts_init(struct rpc_daemon_opts *o);
/* Handle one getopt_long result: true if it was one of ours. --version
 * prints "<prog> <version>" and exits 0; a bad value prints why and exits
 * 2 (main() only, so exiting is the caller's own behaviour). */
bool rpc_daemon_opt(struct rpc_daemon_opts *o, int opt, const char *arg,
                    const char *prog);
/* The options' --help lines. */
void rpc_daemon_opts_usage(FILE *f);
/* Apply to srv (before listen): admission, cap and, with a key, the
 * key for srv (protecting the services in protect, or every service with
 * --keyed-clients) and for this process's client connections. 0, or -1
 * with a message naming the key file and the cause. */
int rpc_daemon_opts_apply(const struct rpc_daemon_opts *o,
                          struct rpc_server *srv, const char *prog,
                          const char *const *protect);
/* For CLIs: load --cluster-key for client connections. 0 or -1 (printed). */
int rpc_client_key_from_file(const char *path, const char *prog);

#endif /* RPC_DAEMON_OPTS_H_ */

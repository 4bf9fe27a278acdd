/* persist_edit.c - test tool: replace the snapshot (keeping the Raft
 * state) or the Raft state (keeping the snapshot) in a daemon's data
 * directory, through the persister's own API, so the files stay
 * well-formed whatever their format: the hostile-input test plants a blob
 * that does not decode behind valid checksums.
 *
 *   persist-edit DIR snapshot FILE     (FILE "-" = stdin)
 *   persist-edit DIR state FILE
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/daemon.h"
#include "common/err.h"
#include "common/persister.h"

int main(int argc, char **argv)
{
    if (daemon_help_or_version(argc, argv, "persist-edit")) {
        printf("usage: persist-edit DIR snapshot|state FILE\n");
        return 0;
    }
    if (argc != 4 || (strcmp(argv[2], "snapshot") != 0 &&
                      strcmp(argv[2], "state") != 0)) {
        fprintf(stderr, "usage: persist-edit DIR snapshot|state FILE\n");
        return 2;
    }
    bool edit_state = strcmp(argv[2], "state") == 0;
    FILE *f = strcmp(argv[3], "-") == 0 ? stdin : fopen(argv[3], "rb");
    if (!f) {
        perror(argv[3]);
        return 1;
    }
    struct buf snap = BUF_INIT, state = BUF_INIT;
    struct buf *in = edit_state ? &state : &snap;
    char tmp[65536];
    size_t n;
    while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0)
        buf_append(in, tmp, n);
    if (f != stdin)
        fclose(f);
    int err = 0;
    struct persister *ps = persister_open_dir(argv[1], &err);
    if (!ps) {
        fprintf(stderr, "persist-edit: %s: %s\n", argv[1], err_msg(err));
        return 1;
    }
    if (edit_state)
        persister_read_snapshot(ps, &snap);
    else
        persister_read_state(ps, &state);
    int rc = persister_save(ps, state.data, state.len, snap.data, snap.len);
    persister_free(ps);
    buf_free(&snap);
    buf_free(&state);
    if (rc != 0) {
        fprintf(stderr, "persist-edit: save failed: %s\n", err_msg(rc));
        return 1;
    }
    return 0;
}

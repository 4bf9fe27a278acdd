/* persist_edit.c - test tool: replace the snapshot in a daemon's data
 * directory, keeping its Raft state, through the persister's own API (so
 * the file stays well-formed whatever its format: the hostile-input test
 * plants a snapshot that does not decode behind a valid checksum).
 *
 *   persist-edit DIR snapshot FILE     (FILE "-" = stdin)
 */
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
        printf("usage: persist-edit DIR snapshot FILE\n");
        return 0;
    }
    if (argc != 4 || strcmp(argv[2], "snapshot") != 0) {
        fprintf(stderr, "usage: persist-edit DIR snapshot FILE\n");
        return 2;
    }
    FILE *f = strcmp(argv[3], "-") == 0 ? stdin : fopen(argv[3], "rb");
    if (!f) {
        perror(argv[3]);
        return 1;
    }
    struct buf snap = BUF_INIT, state = BUF_INIT;
    char tmp[65536];
    size_t n;
    while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0)
        buf_append(&snap, tmp, n);
    if (f != stdin)
        fclose(f);
    int err = 0;
    struct persister *ps = persister_open_dir(argv[1], &err);
    if (!ps) {
        fprintf(stderr, "persist-edit: %s: %s\n", argv[1], err_msg(err));
        return 1;
    }
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

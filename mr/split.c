/* split.c - cutting input files into map tasks at line boundaries. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/err.h"
#include "mr/dist.h"
#include "mr/mr_internal.h"

/* Offset just past the first '\n' at or after pos, or size. */
static int line_end(int fd, uint64_t pos, uint64_t size, uint64_t *out)
{
    char b[65536];
    while (pos < size) {
        ssize_t r = pread(fd, b, sizeof b, (off_t)pos);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return ERR_IO;
        if (r == 0)
            break;
        char *nl = memchr(b, '\n', (size_t)r);
        if (nl) {
            *out = pos + (uint64_t)(nl - b) + 1;
            return 0;
        }
        pos += (uint64_t)r;
    }
    *out = size;
    return 0;
}

int mr_split_files(const char *const *files, int nfiles, uint64_t split_bytes,
                   struct mr_split **out, int *nout, char *msg, size_t n)
{
    struct mr_split *s = NULL;
    int ns = 0, cap = 0;
    if (split_bytes == 0)
        split_bytes = MR_DIST_DEFAULT_SPLIT;
    for (int f = 0; f < nfiles; f++) {
        int fd = open(files[f], O_RDONLY | O_CLOEXEC);
        struct stat st;
        if (fd < 0 || fstat(fd, &st) < 0 || S_ISDIR(st.st_mode)) {
            if (fd >= 0 && S_ISDIR(st.st_mode))
                errno = EISDIR;
            goto fail;
        }
        uint64_t size = (uint64_t)st.st_size, pos = 0;
        do {
            uint64_t end = size;
            /* The split ends with the line holding its last nominal byte. */
            if (size - pos > split_bytes &&
                line_end(fd, pos + split_bytes - 1, size, &end) != 0)
                goto fail;
            if (ns == cap) {
                cap = cap ? 2 * cap : 64;
                s = xrealloc(s, (size_t)cap * sizeof *s);
            }
            s[ns++] = (struct mr_split){f, pos, end - pos};
            pos = end;
        } while (pos < size);
        close(fd);
        continue;
    fail:;
        int e = errno;
        if (fd >= 0)
            close(fd);
        mr_msg(msg, n, "cannot read %s: %s", files[f], strerror(e));
        free(s);
        errno = e;
        return ERR_IO;
    }
    *out = s;
    *nout = ns;
    return 0;
}

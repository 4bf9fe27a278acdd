/* util.c - ihash, intermediate records, whole-file reads, atomic output
 * files and plugin loading. */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/err.h"
#include "mr/mr.h"
#include "mr/mr_internal.h"

uint32_t mr_ihash(const char *key, size_t len)
{
    uint32_t h = 2166136261u;
    const unsigned char *p = (const unsigned char *)key;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 16777619u;
    }
    return h & 0x7fffffffu;
}

void mr_msg(char *msg, size_t n, const char *fmt, ...)
{
    if (!msg || n == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, n, fmt, ap);
    va_end(ap);
}

/* ------------------------------------------------------------------------
 * Records */
static inline uint8_t *put_varint(uint8_t *p, uint64_t v)
{
    while (v >= 0x80) {
        *p++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *p++ = (uint8_t)v;
    return p;
}

void mr_rec_append(struct buf *b, const char *key, size_t klen,
                   const char *val, size_t vlen)
{
    buf_reserve(b, klen + vlen + MR_REC_OVERHEAD);
    uint8_t *p = b->data + b->len;
    if (klen < 0x80 && vlen < 0x80) { /* the common case: two bytes */
        *p++ = (uint8_t)klen;
        *p++ = (uint8_t)vlen;
    } else {
        p = put_varint(p, klen);
        p = put_varint(p, vlen);
    }
    memcpy(p, key, klen);
    p += klen;
    *p++ = 0;
    memcpy(p, val, vlen);
    p += vlen;
    *p++ = 0;
    b->len = (size_t)(p - b->data);
}

static inline int get_varint(const char **pp, const char *end, size_t *out)
{
    const unsigned char *p = (const unsigned char *)*pp;
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if ((const char *)p >= end)
            return ERR_CORRUPT;
        uint8_t c = *p++;
        v |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80)) {
            if (v > MR_MAX_FIELD)
                return ERR_CORRUPT;
            *out = (size_t)v;
            *pp = (const char *)p;
            return 0;
        }
    }
    return ERR_CORRUPT;
}

int mr_rec_next(struct mr_rec_reader *r, const char **key, size_t *klen,
                const char **val, size_t *vlen)
{
    if (r->p >= r->end)
        return 0;
    const char *p = r->p;
    size_t kl, vl;
    if (get_varint(&p, r->end, &kl) || get_varint(&p, r->end, &vl))
        return ERR_CORRUPT;
    if ((size_t)(r->end - p) < kl + vl + 2 || p[kl] != 0 || p[kl + 1 + vl] != 0)
        return ERR_CORRUPT;
    *key = p;
    *klen = kl;
    *val = p + kl + 1;
    *vlen = vl;
    r->p = p + kl + vl + 2;
    return 1;
}

/* ------------------------------------------------------------------------
 * Files */
int mr_read_file(const char *path, char **data, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return ERR_IO;
    struct stat st;
    if (fstat(fd, &st) < 0)
        goto fail;
    if (S_ISDIR(st.st_mode)) {
        errno = EISDIR;
        goto fail;
    }
    size_t cap = S_ISREG(st.st_mode) ? (size_t)st.st_size + 1 : 65536;
    size_t n = 0;
    char *p = xmalloc(cap);
    for (;;) {
        if (n + 1 >= cap) {
            cap *= 2;
            p = xrealloc(p, cap);
        }
        ssize_t r = read(fd, p + n, cap - 1 - n);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            int e = errno;
            free(p);
            close(fd);
            errno = e;
            return ERR_IO;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    p[n] = 0;
    *data = p;
    *len = n;
    return 0;
fail:;
    int e = errno;
    close(fd);
    errno = e;
    return ERR_IO;
}

int mr_pread_full(int fd, void *buf, size_t n, uint64_t off)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = pread(fd, (char *)buf + got, n - got, (off_t)(off + got));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            if (r == 0)
                errno = 0;
            return ERR_IO;
        }
        got += (size_t)r;
    }
    return 0;
}

char *mr_read_addr_file(const char *path)
{
    char *data;
    size_t len;
    if (mr_read_file(path, &data, &len) != 0)
        return NULL;
    data[strcspn(data, "\r\n")] = 0;
    if (!data[0]) {
        free(data);
        return NULL;
    }
    return data;
}

void mr_inter_name(char *buf, size_t n, int map_id, int reduce_id)
{
    snprintf(buf, n, "mr-%d-%d", map_id, reduce_id);
}

void mr_out_name(char *buf, size_t n, int reduce_id)
{
    snprintf(buf, n, "mr-out-%d", reduce_id);
}

/* This host's name for temporary file names: letters, digits and '.'
 * only, so the name parses back unambiguously. */
static void tmp_host(char *h, size_t n)
{
    char raw[256] = "";
    gethostname(raw, sizeof raw - 1);
    size_t j = 0;
    for (size_t i = 0; raw[i] && j + 1 < n; i++) {
        char c = raw[i];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
            (c >= '0' && c <= '9') || c == '.')
            h[j++] = c;
    }
    h[j] = 0;
    if (!j)
        snprintf(h, n, "localhost");
}

int mr_tmp_create(const char *dir_prefix, char **path)
{
    char host[128];
    tmp_host(host, sizeof host);
    size_t n = strlen(dir_prefix) + strlen(host) + 64;
    char *t = xmalloc(n);
    snprintf(t, n, "%s" MR_TMP_PREFIX "%ld-%s-XXXXXX", dir_prefix,
             (long)getpid(), host);
    int fd = mkostemp(t, O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        free(t);
        errno = e;
        return -1;
    }
    *path = t;
    return fd;
}

int mr_tmp_sweep(const char *dir)
{
    char host[128];
    tmp_host(host, sizeof host);
    DIR *d = opendir(dir ? dir : ".");
    if (!d)
        return 0;
    int removed = 0;
    size_t plen = strlen(MR_TMP_PREFIX), hlen = strlen(host);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        const char *nm = e->d_name;
        if (strncmp(nm, MR_TMP_PREFIX, plen) != 0)
            continue;
        char *end;
        errno = 0;
        long pid = strtol(nm + plen, &end, 10);
        /* mr-tmp-<pid>-<host>-XXXXXX: ours only if the host matches and
         * the pid is gone (the same pid alive means a live writer). */
        if (errno || end == nm + plen || pid <= 0 || *end != '-' ||
            strncmp(end + 1, host, hlen) != 0 || end[1 + hlen] != '-' ||
            strlen(end + 2 + hlen) != 6)
            continue;
        if (pid == (long)getpid() || kill((pid_t)pid, 0) == 0 ||
            errno != ESRCH)
            continue;
        if (unlinkat(dirfd(d), nm, 0) == 0)
            removed++;
    }
    closedir(d);
    return removed;
}

int mr_out_open(struct mr_outfile *f, const char *final)
{
    memset(f, 0, sizeof *f);
    f->fd = -1;
    const char *slash = strrchr(final, '/');
    size_t dirlen = slash ? (size_t)(slash - final) + 1 : 0;
    char *dir = xmalloc(dirlen + 1);
    memcpy(dir, final, dirlen);
    dir[dirlen] = 0;
    f->fd = mr_tmp_create(dir, &f->tmp);
    free(dir);
    if (f->fd < 0)
        return ERR_IO;
    f->final = xstrdup(final);
    buf_init(&f->b);
    return 0;
}

static void write_all(struct mr_outfile *f, const void *p, size_t n)
{
    const char *c = p;
    while (n > 0 && !f->err) {
        ssize_t w = write(f->fd, c, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            f->err = errno;
            return;
        }
        c += w;
        n -= (size_t)w;
    }
}

void mr_out_flush(struct mr_outfile *f, size_t threshold)
{
    if (f->b.len > threshold) {
        write_all(f, f->b.data, f->b.len);
        f->b.len = 0;
    }
}

void mr_out_write(struct mr_outfile *f, const void *p, size_t n)
{
    buf_append(&f->b, p, n);
    mr_out_flush(f, 1u << 20);
}

/* fsync the directory holding path, so a rename in it survives a crash. */
static int sync_dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir = slash ? xstrdup(path) : xstrdup(".");
    if (slash)
        dir[slash - path + (slash == path)] = 0;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    free(dir);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    int e = errno;
    close(fd);
    errno = e;
    /* Some file systems cannot sync a directory; that is not a failure. */
    return rc < 0 && errno != EINVAL && errno != EROFS ? -1 : 0;
}

int mr_out_commit(struct mr_outfile *f)
{
    mr_out_flush(f, 0);
    int rc = 0;
    if (!f->err && fchmod(f->fd, 0644) < 0)
        f->err = errno;
    /* A durable output must be on disk before its name is: otherwise a
     * power loss can leave a complete-looking mr-out-* that is empty. */
    if (!f->err && f->durable && fsync(f->fd) < 0)
        f->err = errno;
    if (close(f->fd) < 0 && !f->err)
        f->err = errno;
    f->fd = -1;
    if (!f->err && rename(f->tmp, f->final) < 0)
        f->err = errno;
    if (f->err) {
        unlink(f->tmp);
        rc = ERR_IO;
    } else if (f->durable && sync_dir_of(f->final) < 0) {
        f->err = errno; /* renamed, but the name may not survive a crash */
        rc = ERR_IO;
    }
    int e = f->err;
    free(f->tmp);
    free(f->final);
    f->tmp = f->final = NULL;
    buf_free(&f->b);
    errno = e;
    return rc;
}

void mr_out_abort(struct mr_outfile *f)
{
    if (f->fd >= 0)
        close(f->fd);
    f->fd = -1;
    if (f->tmp)
        unlink(f->tmp);
    free(f->tmp);
    free(f->final);
    f->tmp = f->final = NULL;
    buf_free(&f->b);
}

/* ------------------------------------------------------------------------
 * Plugins */
int mr_app_load(struct mr_app *app, const char *path, char *msg, size_t n)
{
    memset(app, 0, sizeof *app);
    /* dlopen("wc.so") would search the library path; Go's plugin.Open opens
     * relative to the current directory, and so do we. */
    char *p = NULL;
    if (!strchr(path, '/')) {
        p = xmalloc(strlen(path) + 3);
        strcpy(p, "./");
        strcat(p, path);
    }
    void *h = dlopen(p ? p : path, RTLD_NOW | RTLD_LOCAL);
    free(p);
    if (!h) {
        const char *why = dlerror();
        mr_msg(msg, n, "cannot load plugin %s: %s", path, why ? why : "?");
        return ERR_NOTFOUND;
    }
    void *m = dlsym(h, "Map");
    if (!m) {
        mr_msg(msg, n, "cannot find Map in %s", path);
        dlclose(h);
        return ERR_NOTFOUND;
    }
    void *r = dlsym(h, "Reduce");
    if (!r) {
        mr_msg(msg, n, "cannot find Reduce in %s", path);
        dlclose(h);
        return ERR_NOTFOUND;
    }
    app->handle = h;
    /* POSIX guarantees dlsym results convert to function pointers; ISO C
     * does not, hence the memcpy. */
    memcpy(&app->map, &m, sizeof m);
    memcpy(&app->reduce, &r, sizeof r);
    return 0;
}

void mr_app_unload(struct mr_app *app)
{
    if (app->handle)
        dlclose(app->handle);
    memset(app, 0, sizeof *app);
}

void mr_tune_malloc(void)
{
#ifdef __GLIBC__
    /* Tasks allocate and free buffers of tens of MB, task after task. By
     * default glibc serves those with fresh mmaps and returns them at free,
     * so every task pays page faults on all its memory again (measured:
     * reduce 3x slower). Keep freed memory for the next task instead; the
     * peak RSS stays that of the largest task. */
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 512 << 20);
#endif
}

/* gentext.c - `mrgentext`: deterministic generator of English-like text
 * files, the inputs of the MapReduce tests, demo and benchmark.
 *
 * The text is pure ASCII: paragraphs of sentences wrapped at 72 columns,
 * separated by blank lines, with occasional chapter headings, commas,
 * quoted speech, question and exclamation marks. Words are drawn from a
 * fixed vocabulary with a Zipf-Mandelbrot distribution (the frequency of
 * the r-th word ~ 1/(r+2.7)): the ~120 commonest real English words lead,
 * followed by pronounceable made-up words, some of them capitalised names.
 * Everything derives from the seed, so the same options always give
 * byte-identical files.
 *
 * Usage: mrgentext [-s seed] [-n files] [-m min_kb] [-M max_kb]
 *                  [-T total_mb] [-o dir] [-p prefix]
 * Defaults: seed 5840, 8 files of 100-600 KB named like the 6.5840 inputs
 * (pg-being_ernest.txt ... pg-tom_sawyer.txt), in the current directory.
 * -T splits a total size evenly over the files (and names them
 * <prefix>-NNN.txt when there are more than 8). Files are written via a
 * temporary and renamed, so a reader never sees a partial file. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/daemon.h"
#include "common/err.h"
#include "common/rand.h"
#include "mr/mr_internal.h"

#define VOCAB 30000
#define WRAP 72

static const char *const common_words[] = {
    "the", "of", "and", "to", "a", "in", "that", "he", "was", "it", "his",
    "i", "you", "with", "for", "had", "as", "her", "she", "not", "at", "but",
    "is", "on", "be", "my", "him", "said", "all", "have", "so", "which", "me",
    "they", "by", "this", "from", "were", "there", "one", "would", "no",
    "what", "them", "or", "an", "if", "when", "we", "their", "been", "do",
    "are", "could", "will", "out", "then", "up", "into", "more", "little",
    "now", "some", "very", "man", "upon", "about", "who", "did", "time",
    "your", "like", "only", "over", "before", "any", "down", "can", "see",
    "should", "must", "know", "these", "old", "come", "well", "good",
    "great", "went", "than", "again", "long", "other", "made", "way", "back",
    "never", "much", "came", "after", "how", "day", "night", "eyes", "hand",
    "first", "where", "here", "house", "think", "face", "door", "thought",
    "nothing", "young", "still", "us", "our", "may", "head", "life", "room",
};
#define NCOMMON (sizeof common_words / sizeof common_words[0])

static const char *const go_names[] = {
    "pg-being_ernest.txt",     "pg-dorian_gray.txt",
    "pg-frankenstein.txt",     "pg-grimm.txt",
    "pg-huckleberry_finn.txt", "pg-metamorphosis.txt",
    "pg-sherlock_holmes.txt",  "pg-tom_sawyer.txt",
};

static const char *const onsets[] = {
    "b", "c", "d", "f", "g", "h", "j", "k", "l", "m", "n", "p", "r", "s",
    "t", "v", "w", "y", "z", "br", "ch", "cl", "cr", "dr", "fl", "fr", "gl",
    "gr", "pl", "pr", "sc", "sh", "sl", "sm", "sn", "sp", "st", "str", "th",
    "tr", "wh", "",
};
static const char *const nuclei[] = {
    "a", "e", "i", "o", "u", "a", "e", "i", "o", "ea", "ee", "oo", "ou",
    "ai", "a", "e", "o",
};
static const char *const codas[] = {
    "", "", "", "n", "r", "s", "t", "l", "d", "m", "ng", "nd", "st", "ck",
    "rt", "ll", "th", "ss",
};
#define PICK(r, arr) (arr[rng_below(r, sizeof arr / sizeof arr[0])])

struct vocab {
    char *words[VOCAB];
    unsigned char len[VOCAB];
    unsigned char name[VOCAB]; /* always capitalised */
    double cdf[VOCAB];
};

static uint64_t str_hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    while (*s)
        h = (h ^ (unsigned char)*s++) * 1099511628211ull;
    return h;
}

static void vocab_build(struct vocab *v, uint64_t seed)
{
    struct rng r;
    rng_seed(&r, rng_derive(seed, 0x766f636162ull));
    size_t cap = 1u << 16;
    uint64_t *seen = xcalloc(cap, sizeof *seen); /* hash set of words */
    size_t n = 0;
    for (; n < NCOMMON; n++) {
        v->words[n] = xstrdup(common_words[n]);
        uint64_t h = str_hash(v->words[n]) | 1;
        size_t j = h & (cap - 1);
        while (seen[j])
            j = (j + 1) & (cap - 1);
        seen[j] = h;
    }
    char w[64];
    while (n < VOCAB) {
        /* 1-3 syllables; rarer words tend to be longer. */
        uint64_t d = rng_below(&r, 100);
        int syl = d < (n < 3000 ? 50 : 25) ? 1 : d < 85 ? 2 : 3;
        w[0] = 0;
        for (int s = 0; s < syl; s++) {
            strcat(w, s == 0 || rng_below(&r, 2) ? PICK(&r, onsets) : "");
            strcat(w, PICK(&r, nuclei));
            if (s == syl - 1)
                strcat(w, PICK(&r, codas));
        }
        size_t wl = strlen(w);
        if (wl < 2 || wl > 13)
            continue;
        uint64_t h = str_hash(w) | 1;
        size_t j = h & (cap - 1);
        bool dup = false;
        while (seen[j]) {
            if (seen[j] == h) {
                dup = true;
                break;
            }
            j = (j + 1) & (cap - 1);
        }
        if (dup)
            continue;
        seen[j] = h;
        v->words[n] = xstrdup(w);
        /* One in 40 made-up words is a proper name. */
        v->name[n] = rng_below(&r, 40) == 0;
        n++;
    }
    free(seen);
    double sum = 0;
    for (size_t i = 0; i < VOCAB; i++) {
        v->len[i] = (unsigned char)strlen(v->words[i]);
        sum += 1.0 / ((double)i + 2.7);
        v->cdf[i] = sum;
    }
    for (size_t i = 0; i < VOCAB; i++)
        v->cdf[i] /= sum;
}

static size_t vocab_pick(const struct vocab *v, struct rng *r)
{
    double x = rng_double(r);
    size_t lo = 0, hi = VOCAB - 1;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (v->cdf[mid] < x)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Line-wrapping writer. */
struct out {
    struct buf b;
    size_t col;
};

static void put_word(struct out *o, const char *w, size_t n)
{
    if (o->col > 0 && o->col + 1 + n > WRAP) {
        buf_append_byte(&o->b, '\n');
        o->col = 0;
    } else if (o->col > 0) {
        buf_append_byte(&o->b, ' ');
        o->col++;
    }
    buf_append(&o->b, w, n);
    o->col += n;
}

static void end_par(struct out *o)
{
    buf_append(&o->b, "\n\n", 2);
    o->col = 0;
}

static const char *roman(unsigned n, char *b)
{
    static const struct {
        unsigned v;
        const char *s;
    } t[] = {{1000, "M"}, {900, "CM"}, {500, "D"}, {400, "CD"}, {100, "C"},
             {90, "XC"},  {50, "L"},   {40, "XL"},  {10, "X"},   {9, "IX"},
             {5, "V"},    {4, "IV"},   {1, "I"}};
    b[0] = 0;
    for (size_t i = 0; i < sizeof t / sizeof t[0] && n; i++)
        while (n >= t[i].v && strlen(b) < 40) {
            strcat(b, t[i].s);
            n -= t[i].v;
        }
    return b;
}

static void sentence(const struct vocab *v, struct rng *r, struct out *o)
{
    char w[64];
    int len = 3 + (int)rng_below(r, 10) + (int)rng_below(r, 14);
    bool quoted = rng_below(r, 10) == 0;
    for (int i = 0; i < len; i++) {
        size_t k = vocab_pick(v, r);
        size_t n = v->len[k];
        size_t p = 0;
        if (quoted && i == 0)
            w[p++] = '"';
        memcpy(w + p, v->words[k], n);
        if (i == 0 || v->name[k] || (n == 1 && v->words[k][0] == 'i'))
            w[p] = (char)(w[p] - 'a' + 'A');
        p += n;
        if (i == len - 1) {
            uint64_t e = rng_below(r, 100);
            w[p++] = e < 84 ? '.' : e < 93 ? '?' : e < 98 ? '!' : ';';
            if (quoted)
                w[p++] = '"';
        } else if (rng_below(r, 100) < 9) {
            w[p++] = rng_below(r, 10) == 0 ? ';' : ',';
        }
        put_word(o, w, p);
    }
}

static int gen_file(const struct vocab *v, uint64_t seed, unsigned idx,
                    size_t target, const char *path)
{
    struct rng r;
    rng_seed(&r, rng_derive(seed, idx + 1));
    struct out o = {BUF_INIT, 0};
    unsigned chapter = 1;
    char rb[48];
    struct mr_outfile f;
    if (mr_out_open(&f, path) != 0)
        return ERR_IO;
    size_t written = 0;
    while (written + o.b.len < target) {
        if (rng_below(&r, 40) == 0 || (written == 0 && o.b.len == 0)) {
            put_word(&o, "CHAPTER", 7);
            const char *rn = roman(chapter++, rb);
            put_word(&o, rn, strlen(rn));
            end_par(&o);
        }
        int ns = 1 + (int)rng_below(&r, 4) + (int)rng_below(&r, 5);
        for (int s = 0; s < ns; s++)
            sentence(v, &r, &o);
        end_par(&o);
        if (o.b.len > (1u << 20)) {
            mr_out_write(&f, o.b.data, o.b.len);
            written += o.b.len;
            o.b.len = 0;
        }
    }
    mr_out_write(&f, o.b.data, o.b.len);
    buf_free(&o.b);
    return mr_out_commit(&f);
}

/* mkdir -p */
static int mkdir_p(const char *dir)
{
    char *p = xstrdup(dir);
    for (char *s = p + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = 0;
        if (mkdir(p, 0777) < 0 && errno != EEXIST) {
            free(p);
            return -1;
        }
        *s = '/';
    }
    int rc = mkdir(p, 0777) < 0 && errno != EEXIST ? -1 : 0;
    free(p);
    return rc;
}

/* Print the usage (to stdout for --help, rc 0) and exit with rc. */
static void usage(int rc)
{
    FILE *f = rc ? stderr : stdout;
    fprintf(f,
            "Usage: mrgentext [-s seed] [-n files] [-m min_kb] [-M max_kb] "
            "[-T total_mb] [-o dir] [-p prefix]\n"
            "  defaults: seed 5840, 8 files of 100-600 KB, current "
            "directory\n");
    exit(rc);
}

static unsigned long num(const char *s, unsigned long max)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || end == s || *end || v > max)
        usage(1);
    return v;
}

int main(int argc, char **argv)
{
    if (daemon_help_or_version(argc, argv, "mrgentext"))
        usage(0);
    uint64_t seed = 5840;
    unsigned long nfiles = 8, min_kb = 100, max_kb = 600, total_mb = 0;
    const char *dir = ".", *prefix = "pg-text";
    bool quiet = false;
    int opt;
    while ((opt = getopt(argc, argv, "s:n:m:M:T:o:p:qh")) != -1) {
        switch (opt) {
        case 's': seed = num(optarg, UINT64_MAX >> 1); break;
        case 'n': nfiles = num(optarg, 100000); break;
        case 'm': min_kb = num(optarg, 1ul << 30); break;
        case 'M': max_kb = num(optarg, 1ul << 30); break;
        case 'T': total_mb = num(optarg, 1ul << 20); break;
        case 'o': dir = optarg; break;
        case 'p': prefix = optarg; break;
        case 'q': quiet = true; break;
        default: usage(1);
        }
    }
    if (optind != argc || nfiles < 1 || min_kb > max_kb)
        usage(1);
    if (mkdir_p(dir) < 0) {
        fprintf(stderr, "mrgentext: cannot create %s: %s\n", dir,
                strerror(errno));
        return 1;
    }
    struct vocab *v = xcalloc(1, sizeof *v);
    vocab_build(v, seed);
    struct rng sizes;
    rng_seed(&sizes, rng_derive(seed, 0x73697a65ull));
    size_t total = 0;
    for (unsigned long i = 0; i < nfiles; i++) {
        size_t target =
            total_mb ? (size_t)(total_mb << 20) / nfiles
                     : (size_t)rng_range(&sizes, (int64_t)min_kb << 10,
                                         (int64_t)max_kb << 10);
        char path[4096];
        if (nfiles <= 8)
            snprintf(path, sizeof path, "%s/%s", dir, go_names[i]);
        else
            snprintf(path, sizeof path, "%s/%s-%03lu.txt", dir, prefix, i);
        if (gen_file(v, seed, (unsigned)i, target, path) != 0) {
            fprintf(stderr, "mrgentext: cannot write %s: %s\n", path,
                    strerror(errno));
            return 1;
        }
        struct stat st;
        if (stat(path, &st) == 0)
            total += (size_t)st.st_size;
    }
    if (!quiet)
        fprintf(stderr, "mrgentext: %lu files, %.1f MB in %s (seed %llu)\n",
                nfiles, (double)total / (1 << 20), dir,
                (unsigned long long)seed);
    for (size_t i = 0; i < VOCAB; i++)
        free(v->words[i]);
    free(v);
    return 0;
}

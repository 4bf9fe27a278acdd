/* batch.h - the batch-mode input and record format of kvcli and skvcli:
 * whole input parsed (and refused on any error) before anything is sent.
 *
 * Input: one operation per line, "get KEY", "put KEY VALUE" or
 * "append KEY VALUE"; blank lines and lines starting with '#' are skipped.
 * A token is either bare (no whitespace, '"' or '\') or double-quoted with
 * C escapes: \\ \" \n \r \t \xHH (any byte but NUL: keys and values are C
 * strings in the clerk API). Lines may be of any length.
 *
 * Records (output): fields containing a tab, newline, carriage return or
 * backslash are written with the same escapes (\t \n \r \\), so a record
 * is always one line and plain values appear unchanged. */
#ifndef COMMON_BATCH_H_
#define COMMON_BATCH_H_

#include <stdio.h>

struct batch_op {
    char op[8]; /* "get", "put", "append" */
    char *key;  /* owned */
    char *val;  /* owned; NULL for get */
};

struct batch {
    struct batch_op *ops;
    size_t n, cap;
};

/* Read and parse all of f. 0, or -1 after printing "<prog>: line N: why"
 * to stderr (nothing kept). */
int batch_read(FILE *f, const char *prog, struct batch *b);
void batch_free(struct batch *b);
/* Write s with the record escapes (see above). */
void batch_put_field(FILE *f, const char *s);

#endif /* COMMON_BATCH_H_ */

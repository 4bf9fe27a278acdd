/* apps_util.h - helpers shared by the bundled MapReduce apps (compiled into
 * each plugin that uses them; libc only). */
#ifndef MR_APPS_APPS_UTIL_H_
#define MR_APPS_APPS_UTIL_H_

#include <stddef.h>
#include <stdint.h>

#include "mr/mr_app.h"

/* True for the ASCII letters (the inputs are ASCII; Go's unicode.IsLetter
 * on ASCII text is the same). */
static inline int mrapp_is_letter(unsigned char c)
{
    return (unsigned char)((c | 0x20) - 'a') < 26;
}

/* Sleep ms milliseconds (restarting after signals). */
void mrapp_sleep_ms(uint64_t ms);
/* Uniform in [0, n) from the OS's random source (getrandom/urandom). */
uint64_t mrapp_random_below(uint64_t n);
/* 6.5840's nparallel(phase): create mr-worker-<phase>-<pid>, count the
 * live processes that have such a file in the current directory, sleep
 * 1 s, remove the file and return the count. */
int mrapp_nparallel(const char *phase);
/* Output the values sorted bytewise (Go's sort.Strings) joined by sep. */
void mrapp_output_sorted_join(const char *const *values, const size_t *lens,
                              size_t n, const char *sep, mr_output_fn output,
                              void *ctx);
/* Output a decimal integer. */
void mrapp_output_int(long long v, mr_output_fn output, void *ctx);
/* wc's Map body: emit (word, "1") for every maximal run of letters. */
void mrapp_emit_words(const char *contents, size_t len, mr_emit_fn emit,
                      void *ctx);

#endif /* MR_APPS_APPS_UTIL_H_ */

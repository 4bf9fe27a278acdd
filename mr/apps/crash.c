/* crash.c - a MapReduce app that sometimes crashes and sometimes takes
 * long: at the start of every Map and Reduce, with probability 33% the
 * process exits at once (status 1), with 33% it sleeps 0-10 s, else it goes
 * on. The random draws come from the OS (like Go's crypto/rand), so every
 * worker process behaves differently. */
#include <unistd.h>

#include "mr/apps/crash_common.h"

static void maybe_crash(void)
{
    uint64_t r = mrapp_random_below(1000);
    if (r < 330) {
        /* crash! (_exit: no atexit handlers, like a real crash) */
        _exit(1);
    } else if (r < 660) {
        /* delay for a while */
        mrapp_sleep_ms(mrapp_random_below(10 * 1000));
    }
}

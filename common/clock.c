/* clock.c - monotonic time, sleeps and monotonic-clock condition waits. */
#include "common/clock.h"

#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "common/err.h"

static uint64_t ts_to_ns(const struct timespec *ts)
{
    return (uint64_t)ts->tv_sec * 1000000000ull + (uint64_t)ts->tv_nsec;
}

uint64_t clock_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts_to_ns(&ts);
}

uint64_t clock_now_us(void) { return clock_now_ns() / 1000; }
uint64_t clock_now_ms(void) { return clock_now_ns() / 1000000; }

uint64_t clock_wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return ts_to_ns(&ts);
}

void clock_sleep_ns(uint64_t ns)
{
    struct timespec req = {(time_t)(ns / 1000000000ull),
                           (long)(ns % 1000000000ull)};
    /* nanosleep reports the remainder when a signal interrupts it. */
    while (nanosleep(&req, &req) != 0 && errno == EINTR)
        ;
}

void clock_sleep_ms(uint64_t ms) { clock_sleep_ns(ms * 1000000ull); }

void clock_cond_init(pthread_cond_t *cond)
{
    pthread_condattr_t attr;
    if (pthread_condattr_init(&attr) != 0 ||
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC) != 0 ||
        pthread_cond_init(cond, &attr) != 0)
        abort();
    pthread_condattr_destroy(&attr);
}

int clock_cond_wait_until(pthread_cond_t *cond, pthread_mutex_t *mu,
                          uint64_t deadline_ns)
{
    struct timespec ts = {(time_t)(deadline_ns / 1000000000ull),
                          (long)(deadline_ns % 1000000000ull)};
    int rc = pthread_cond_timedwait(cond, mu, &ts);
    return rc == ETIMEDOUT ? ERR_TIMEOUT : 0;
}

int clock_cond_wait_ms(pthread_cond_t *cond, pthread_mutex_t *mu,
                       uint64_t timeout_ms)
{
    return clock_cond_wait_until(cond, mu,
                                 clock_now_ns() + timeout_ms * 1000000ull);
}

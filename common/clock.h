/* clock.h - monotonic time, sleeping, and condition variables on the
 * monotonic clock (so waits are immune to wall-clock jumps). */
#ifndef COMMON_CLOCK_H_
#define COMMON_CLOCK_H_

#include <pthread.h>
#include <stdint.h>

/* Monotonic time (CLOCK_MONOTONIC). */
uint64_t clock_now_ns(void);
uint64_t clock_now_us(void);
uint64_t clock_now_ms(void);
/* Wall-clock time in nanoseconds since the epoch (for file names, reports). */
uint64_t clock_wall_ns(void);

/* Sleep, restarting after signals. */
void clock_sleep_ms(uint64_t ms);
void clock_sleep_ns(uint64_t ns);

/* Initialise a condition variable that times out against CLOCK_MONOTONIC. */
void clock_cond_init(pthread_cond_t *cond);
/* Wait until signalled or until the monotonic deadline (ns) passes.
 * Returns 0 when woken (possibly spuriously), ERR_TIMEOUT at the deadline. */
int clock_cond_wait_until(pthread_cond_t *cond, pthread_mutex_t *mu,
                          uint64_t deadline_ns);
/* Same, with a relative timeout in milliseconds. */
int clock_cond_wait_ms(pthread_cond_t *cond, pthread_mutex_t *mu,
                       uint64_t timeout_ms);

#endif /* COMMON_CLOCK_H_ */

/* rand.h - small seedable PRNG (xoshiro256**), one state per instance.
 *
 * Protocol code never calls rand()/time(): each object owns a struct rng
 * seeded by its creator, so a test seed reproduces a run's choices. A
 * struct rng is not thread-safe; guard it with its owner's lock. */
#ifndef COMMON_RAND_H_
#define COMMON_RAND_H_

#include <stddef.h>
#include <stdint.h>

struct rng {
    uint64_t s[4];
};

/* Seed deterministically from one 64-bit value (via splitmix64). */
void rng_seed(struct rng *r, uint64_t seed);
uint64_t rng_next(struct rng *r);
/* Uniform in [0, n); n == 0 returns 0. Unbiased. */
uint64_t rng_below(struct rng *r, uint64_t n);
/* Uniform in [lo, hi] (inclusive). */
int64_t rng_range(struct rng *r, int64_t lo, int64_t hi);
/* Uniform in [0, 1). */
double rng_double(struct rng *r);
/* Fill buf with n random letters/digits (no NUL added). */
void rng_alnum(struct rng *r, char *buf, size_t n);

/* A fresh seed from the OS (getrandom), for when no seed was given. */
uint64_t rng_os_seed(void);
/* Derive an independent child seed from a parent seed and a stream id. */
uint64_t rng_derive(uint64_t seed, uint64_t stream);

#endif /* COMMON_RAND_H_ */

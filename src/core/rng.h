/* Host-side random numbers for initialisation (splitmix64): fast,
 * seedable, the same on every platform. Device-side randomness uses
 * Philox (kernels/philox.clh). */
#ifndef SPK_RNG_H
#define SPK_RNG_H
#include <stdint.h>

typedef struct spk__rng {
    uint64_t s;
} spk__rng;

static inline spk__rng spk__rng_seed(uint64_t seed)
{
    return (spk__rng){seed ^ 0x5851f42d4c957f2dull};
}

static inline uint64_t spk__rng_next(spk__rng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Uniform in [0, 1) with 24 random bits. */
static inline float spk__rng_uniform(spk__rng *r)
{
    return (float)(spk__rng_next(r) >> 40) * (1.0f / 16777216.0f);
}
#endif

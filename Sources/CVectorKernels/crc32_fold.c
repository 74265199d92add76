#include "CVectorKernels.h"

#if defined(__x86_64__)
#include <immintrin.h>

// CRC-32 (gzip's polynomial P, bits reflected) by folding: four 128-bit lanes are carried 512 bits forward, 64
// bytes at a time, by carry-less multiplications of their halves by powers of x mod P; then they are folded into one
// lane, reduced to 64 bits and to 32 by Barrett reduction, as Intel's "Fast CRC Computation for Generic Polynomials
// Using PCLMULQDQ" (Gopal et al., 2009) describes for reflected CRCs. The register is the raw CRC (no inversions).
// The constants are that paper's for this polynomial (Linux's crc32-pclmul uses the same), checked by the tests
// against zlib.
#define K1 0x154442bd4ULL  // a lane's low half, 512 bits on
#define K2 0x1c6e41596ULL  // its high half
#define K3 0x1751997d0ULL  // the same, 128 bits on
#define K4 0x0ccaa009eULL
#define K5 0x163cd6124ULL  // 96 bits to 64
#define P_PRIME 0x1db710641ULL  // P, reflected
#define MU 0x1f7011641ULL       // x^64 / P, reflected: Barrett's quotient

__attribute__((target("pclmul,sse4.1")))
static inline __m128i fold(__m128i lane, __m128i constants, __m128i next) {
    __m128i low = _mm_clmulepi64_si128(lane, constants, 0x00);
    __m128i high = _mm_clmulepi64_si128(lane, constants, 0x11);
    return _mm_xor_si128(_mm_xor_si128(low, high), next);
}

__attribute__((target("pclmul,sse4.1")))
static uint32_t fold_raw(uint32_t crc, const uint8_t *bytes, size_t count) {
    const __m128i *in = (const __m128i *)bytes;
    __m128i x1 = _mm_xor_si128(_mm_loadu_si128(in), _mm_cvtsi32_si128((int)crc));
    __m128i x2 = _mm_loadu_si128(in + 1);
    __m128i x3 = _mm_loadu_si128(in + 2);
    __m128i x4 = _mm_loadu_si128(in + 3);
    in += 4;
    count -= 64;
    const __m128i k1k2 = _mm_set_epi64x((long long)K2, (long long)K1);
    for (; count >= 64; count -= 64, in += 4) {
        x1 = fold(x1, k1k2, _mm_loadu_si128(in));
        x2 = fold(x2, k1k2, _mm_loadu_si128(in + 1));
        x3 = fold(x3, k1k2, _mm_loadu_si128(in + 2));
        x4 = fold(x4, k1k2, _mm_loadu_si128(in + 3));
    }
    const __m128i k3k4 = _mm_set_epi64x((long long)K4, (long long)K3);
    x1 = fold(x1, k3k4, x2);
    x1 = fold(x1, k3k4, x3);
    x1 = fold(x1, k3k4, x4);
    for (; count >= 16; count -= 16, in += 1) x1 = fold(x1, k3k4, _mm_loadu_si128(in));

    // 128 bits to 64 (with 32 zero bits appended), then to 32.
    const __m128i mask32 = _mm_set_epi32(0, 0, 0, -1);
    __m128i t = _mm_clmulepi64_si128(k3k4, x1, 0x01);  // K4 times the low half
    x1 = _mm_xor_si128(_mm_srli_si128(x1, 8), t);
    t = _mm_srli_si128(x1, 4);
    x1 = _mm_clmulepi64_si128(_mm_and_si128(x1, mask32), _mm_set_epi64x(0, (long long)K5), 0x00);
    x1 = _mm_xor_si128(x1, t);
    // Barrett reduction.
    const __m128i poly = _mm_set_epi64x((long long)MU, (long long)P_PRIME);
    t = x1;
    x1 = _mm_clmulepi64_si128(_mm_and_si128(x1, mask32), poly, 0x10);
    x1 = _mm_clmulepi64_si128(_mm_and_si128(x1, mask32), poly, 0x00);
    x1 = _mm_xor_si128(x1, t);
    return (uint32_t)_mm_extract_epi32(x1, 1);
}
#endif

size_t w2v_crc32_fold(uint32_t *crc, const void *bytes, size_t count) {
#if defined(__x86_64__)
    if (count < 64 || !__builtin_cpu_supports("pclmul") || !__builtin_cpu_supports("sse4.1")) return 0;
    size_t taken = count & ~(size_t)15;
    *crc = ~fold_raw(~*crc, (const uint8_t *)bytes, taken);
    return taken;
#else
    (void)crc;
    (void)bytes;
    (void)count;
    return 0;
#endif
}

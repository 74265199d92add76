#include "CVectorKernels.h"

#include <pthread.h>
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

// Rows are taken four at a time so that one query load feeds four independent accumulators. Codes widen to int16
// and multiply-add in pairs into int32 (pmaddwd): exact, and few enough instructions per byte that the kernel runs
// at the speed memory delivers the codes. It asks for the rows about 4.5 KB ahead of those it reads: measured on
// 3M x 300 codes in 2 MB pages, that halves the time of the hardware prefetcher alone (24 ms to 13 ms).
#define PREFETCH_DISTANCE 4608

static void dot_rows_scalar(const int8_t *codes, size_t rows, size_t dim, const int16_t *query, int32_t *out) {
    for (size_t r = 0; r < rows; r++) {
        const int8_t *row = codes + r * dim;
        int32_t sum = 0;
        for (size_t i = 0; i < dim; i++) sum += (int32_t)row[i] * query[i];
        out[r] = sum;
    }
}

#if defined(__x86_64__)
__attribute__((target("avx2")))
static int32_t hsum_avx2(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
    return _mm_cvtsi128_si32(s);
}

__attribute__((target("avx2")))
static inline __m256i madd16_avx2(const int8_t *row, __m256i query) {
    return _mm256_madd_epi16(_mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)row)), query);
}

__attribute__((target("avx2")))
static void dot_rows_avx2(const int8_t *codes, size_t rows, size_t dim, const int16_t *query, int32_t *out) {
    size_t body = dim & ~(size_t)15;
    size_t r = 0;
    for (; r + 4 <= rows; r += 4) {
        const int8_t *a = codes + r * dim, *b = a + dim, *c = b + dim, *d = c + dim;
        for (size_t o = 0; o < 4 * dim; o += 64) _mm_prefetch((const char *)a + PREFETCH_DISTANCE + o, _MM_HINT_T0);
        __m256i sa = _mm256_setzero_si256(), sb = sa, sc = sa, sd = sa;
        for (size_t i = 0; i < body; i += 16) {
            __m256i q = _mm256_loadu_si256((const __m256i *)(query + i));
            sa = _mm256_add_epi32(sa, madd16_avx2(a + i, q));
            sb = _mm256_add_epi32(sb, madd16_avx2(b + i, q));
            sc = _mm256_add_epi32(sc, madd16_avx2(c + i, q));
            sd = _mm256_add_epi32(sd, madd16_avx2(d + i, q));
        }
        int32_t ta = hsum_avx2(sa), tb = hsum_avx2(sb), tc = hsum_avx2(sc), td = hsum_avx2(sd);
        for (size_t i = body; i < dim; i++) {
            ta += (int32_t)a[i] * query[i];
            tb += (int32_t)b[i] * query[i];
            tc += (int32_t)c[i] * query[i];
            td += (int32_t)d[i] * query[i];
        }
        out[r] = ta;
        out[r + 1] = tb;
        out[r + 2] = tc;
        out[r + 3] = td;
    }
    dot_rows_scalar(codes + r * dim, rows - r, dim, query, out + r);
}

__attribute__((target("avx512f,avx512bw,avx512vl")))
static inline __m512i madd32_avx512(const int8_t *row, __m512i query) {
    return _mm512_madd_epi16(_mm512_cvtepi8_epi16(_mm256_loadu_si256((const __m256i *)row)), query);
}

__attribute__((target("avx512f,avx512bw,avx512vl")))
static inline __m512i madd32_masked_avx512(const int8_t *row, __mmask32 mask, __m512i query) {
    return _mm512_madd_epi16(_mm512_cvtepi8_epi16(_mm256_maskz_loadu_epi8(mask, row)), query);
}

__attribute__((target("avx512f,avx512bw,avx512vl")))
static void dot_rows_avx512(const int8_t *codes, size_t rows, size_t dim, const int16_t *query, int32_t *out) {
    size_t body = dim & ~(size_t)31;
    __mmask32 tail = (__mmask32)((1ull << (dim - body)) - 1);
    __m512i qt = _mm512_maskz_loadu_epi16(tail, query + body);
    size_t r = 0;
    for (; r + 4 <= rows; r += 4) {
        const int8_t *a = codes + r * dim, *b = a + dim, *c = b + dim, *d = c + dim;
        for (size_t o = 0; o < 4 * dim; o += 64) _mm_prefetch((const char *)a + PREFETCH_DISTANCE + o, _MM_HINT_T0);
        __m512i sa = _mm512_setzero_si512(), sb = sa, sc = sa, sd = sa;
        for (size_t i = 0; i < body; i += 32) {
            __m512i q = _mm512_loadu_si512((const void *)(query + i));
            sa = _mm512_add_epi32(sa, madd32_avx512(a + i, q));
            sb = _mm512_add_epi32(sb, madd32_avx512(b + i, q));
            sc = _mm512_add_epi32(sc, madd32_avx512(c + i, q));
            sd = _mm512_add_epi32(sd, madd32_avx512(d + i, q));
        }
        if (tail) {
            sa = _mm512_add_epi32(sa, madd32_masked_avx512(a + body, tail, qt));
            sb = _mm512_add_epi32(sb, madd32_masked_avx512(b + body, tail, qt));
            sc = _mm512_add_epi32(sc, madd32_masked_avx512(c + body, tail, qt));
            sd = _mm512_add_epi32(sd, madd32_masked_avx512(d + body, tail, qt));
        }
        out[r] = _mm512_reduce_add_epi32(sa);
        out[r + 1] = _mm512_reduce_add_epi32(sb);
        out[r + 2] = _mm512_reduce_add_epi32(sc);
        out[r + 3] = _mm512_reduce_add_epi32(sd);
    }
    dot_rows_scalar(codes + r * dim, rows - r, dim, query, out + r);
}
#endif

typedef void (*dot_rows_fn)(const int8_t *, size_t, size_t, const int16_t *, int32_t *);

static const char *kernel_name;
static dot_rows_fn kernel;
static pthread_once_t kernel_once = PTHREAD_ONCE_INIT;

static void choose_kernel(void) {
    kernel_name = "scalar";
    kernel = dot_rows_scalar;
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl")) {
        kernel_name = "avx512";
        kernel = dot_rows_avx512;
    } else if (__builtin_cpu_supports("avx2")) {
        kernel_name = "avx2";
        kernel = dot_rows_avx2;
    }
#endif
}

const char *w2v_int8_dot_rows_isa(void) {
    pthread_once(&kernel_once, choose_kernel);
    return kernel_name;
}

static void dot_rows_blocked(dot_rows_fn dot, const int8_t *codes, size_t rows, size_t dim, const int16_t *queries,
                             size_t query_count, int32_t *out) {
    // Blocks of rows small enough to stay in the L2 cache while every query passes over them.
    const size_t block = 1024;
    for (size_t start = 0; start < rows; start += block) {
        size_t count = rows - start < block ? rows - start : block;
        for (size_t q = 0; q < query_count; q++) {
            dot(codes + start * dim, count, dim, queries + q * dim, out + q * rows + start);
        }
    }
}

void w2v_int8_dot_rows(const int8_t *codes, size_t rows, size_t dim, const int16_t *queries, size_t query_count,
                       int32_t *out) {
    pthread_once(&kernel_once, choose_kernel);
    dot_rows_blocked(kernel, codes, rows, dim, queries, query_count, out);
}

int w2v_int8_dot_rows_using(const char *isa, const int8_t *codes, size_t rows, size_t dim, const int16_t *queries,
                            size_t query_count, int32_t *out) {
    dot_rows_fn dot = NULL;
    if (strcmp(isa, "scalar") == 0) dot = dot_rows_scalar;
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (strcmp(isa, "avx2") == 0 && __builtin_cpu_supports("avx2")) dot = dot_rows_avx2;
    if (strcmp(isa, "avx512") == 0 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl"))
        dot = dot_rows_avx512;
#endif
    if (!dot) return 0;
    dot_rows_blocked(dot, codes, rows, dim, queries, query_count, out);
    return 1;
}

size_t w2v_select_rows(const int32_t *products, const float *scales, size_t count, float query_scale, float per_scale,
                       float constant, float threshold, uint32_t *rows, float *approx, float *bound) {
    size_t kept = 0;
    for (size_t r = 0; r < count; r++) {
        float scale = scales[r];
        float a = (float)products[r] * query_scale * scale;
        float b = scale * per_scale + constant;
        if (scale > 0 && a + b >= threshold) {
            rows[kept] = (uint32_t)r;
            approx[kept] = a;
            bound[kept] = b;
            kept++;
        }
    }
    return kept;
}

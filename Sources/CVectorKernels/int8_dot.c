#include "CVectorKernels.h"

#include <pthread.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

// Rows are taken four at a time so that one query load feeds four independent accumulators.

static void dot_rows_scalar(const int8_t *codes, size_t rows, size_t dim, const float *query, float *out) {
    for (size_t r = 0; r < rows; r++) {
        const int8_t *row = codes + r * dim;
        float sum = 0;
        for (size_t i = 0; i < dim; i++) sum += (float)row[i] * query[i];
        out[r] = sum;
    }
}

#if defined(__x86_64__)
__attribute__((target("avx2,fma")))
static inline __m256 load8_avx2(const int8_t *p) {
    return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)p)));
}

__attribute__((target("avx2,fma")))
static float hsum_avx2(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

__attribute__((target("avx2,fma")))
static void dot_rows_avx2(const int8_t *codes, size_t rows, size_t dim, const float *query, float *out) {
    size_t body = dim & ~(size_t)7;
    size_t r = 0;
    for (; r + 4 <= rows; r += 4) {
        const int8_t *a = codes + r * dim, *b = a + dim, *c = b + dim, *d = c + dim;
        __m256 sa = _mm256_setzero_ps(), sb = _mm256_setzero_ps(), sc = _mm256_setzero_ps(), sd = _mm256_setzero_ps();
        for (size_t i = 0; i < body; i += 8) {
            __m256 q = _mm256_loadu_ps(query + i);
            sa = _mm256_fmadd_ps(load8_avx2(a + i), q, sa);
            sb = _mm256_fmadd_ps(load8_avx2(b + i), q, sb);
            sc = _mm256_fmadd_ps(load8_avx2(c + i), q, sc);
            sd = _mm256_fmadd_ps(load8_avx2(d + i), q, sd);
        }
        float ta = hsum_avx2(sa), tb = hsum_avx2(sb), tc = hsum_avx2(sc), td = hsum_avx2(sd);
        for (size_t i = body; i < dim; i++) {
            ta += (float)a[i] * query[i];
            tb += (float)b[i] * query[i];
            tc += (float)c[i] * query[i];
            td += (float)d[i] * query[i];
        }
        out[r] = ta;
        out[r + 1] = tb;
        out[r + 2] = tc;
        out[r + 3] = td;
    }
    dot_rows_scalar(codes + r * dim, rows - r, dim, query, out + r);
}

__attribute__((target("avx512f,avx512bw,avx512vl")))
static inline __m512 load16_avx512(const int8_t *p) {
    return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)p)));
}

__attribute__((target("avx512f,avx512bw,avx512vl")))
static inline __m512 load16_masked_avx512(const int8_t *p, __mmask16 mask) {
    return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(mask, p)));
}

__attribute__((target("avx512f,avx512bw,avx512vl")))
static void dot_rows_avx512(const int8_t *codes, size_t rows, size_t dim, const float *query, float *out) {
    size_t body = dim & ~(size_t)15;
    __mmask16 tail = (__mmask16)((1u << (dim - body)) - 1);
    __m512 qt = _mm512_maskz_loadu_ps(tail, query + body);
    size_t r = 0;
    for (; r + 4 <= rows; r += 4) {
        const int8_t *a = codes + r * dim, *b = a + dim, *c = b + dim, *d = c + dim;
        __m512 sa = _mm512_setzero_ps(), sb = _mm512_setzero_ps(), sc = _mm512_setzero_ps(), sd = _mm512_setzero_ps();
        for (size_t i = 0; i < body; i += 16) {
            __m512 q = _mm512_loadu_ps(query + i);
            sa = _mm512_fmadd_ps(load16_avx512(a + i), q, sa);
            sb = _mm512_fmadd_ps(load16_avx512(b + i), q, sb);
            sc = _mm512_fmadd_ps(load16_avx512(c + i), q, sc);
            sd = _mm512_fmadd_ps(load16_avx512(d + i), q, sd);
        }
        if (tail) {
            sa = _mm512_fmadd_ps(load16_masked_avx512(a + body, tail), qt, sa);
            sb = _mm512_fmadd_ps(load16_masked_avx512(b + body, tail), qt, sb);
            sc = _mm512_fmadd_ps(load16_masked_avx512(c + body, tail), qt, sc);
            sd = _mm512_fmadd_ps(load16_masked_avx512(d + body, tail), qt, sd);
        }
        out[r] = _mm512_reduce_add_ps(sa);
        out[r + 1] = _mm512_reduce_add_ps(sb);
        out[r + 2] = _mm512_reduce_add_ps(sc);
        out[r + 3] = _mm512_reduce_add_ps(sd);
    }
    dot_rows_scalar(codes + r * dim, rows - r, dim, query, out + r);
}
#endif

typedef void (*dot_rows_fn)(const int8_t *, size_t, size_t, const float *, float *);

static dot_rows_fn chosen_kernel(const char **name) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl")) {
        *name = "avx512";
        return dot_rows_avx512;
    }
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        *name = "avx2";
        return dot_rows_avx2;
    }
#endif
    *name = "scalar";
    return dot_rows_scalar;
}

static const char *kernel_name;
static dot_rows_fn kernel;
static pthread_once_t kernel_once = PTHREAD_ONCE_INIT;

static void choose_kernel(void) { kernel = chosen_kernel(&kernel_name); }

static dot_rows_fn current_kernel(void) {
    pthread_once(&kernel_once, choose_kernel);
    return kernel;
}

const char *w2v_int8_dot_rows_isa(void) {
    current_kernel();
    return kernel_name;
}

void w2v_int8_dot_rows(const int8_t *codes, size_t rows, size_t dim, const float *queries, size_t query_count,
                       float *out) {
    dot_rows_fn dot = current_kernel();
    // Blocks of rows small enough to stay in the L2 cache while every query passes over them.
    const size_t block = 1024;
    for (size_t start = 0; start < rows; start += block) {
        size_t count = rows - start < block ? rows - start : block;
        for (size_t q = 0; q < query_count; q++) {
            dot(codes + start * dim, count, dim, queries + q * dim, out + q * rows + start);
        }
    }
}

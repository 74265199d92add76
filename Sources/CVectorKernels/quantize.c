#include "CVectorKernels.h"

#include <math.h>
#include <string.h>

// Written so that the compiler vectorizes both loops with baseline SSE2: the largest magnitude is taken on the
// float's bits (for values that are not NaN, a larger magnitude has larger bits), and rounding half away from zero
// is truncation (cvttps2dq) plus a step where the remainder, exact here, reaches one half.
float w2v_quantize_row(const float *vector, size_t dim, float norm, int8_t *codes) {
    uint32_t largest = 0;
    for (size_t i = 0; i < dim; i++) {
        float unit = vector[i] / norm;
        uint32_t bits;
        memcpy(&bits, &unit, sizeof bits);
        bits &= 0x7FFFFFFFu;
        largest = bits > largest ? bits : largest;
    }
    float top;
    memcpy(&top, &largest, sizeof top);
    float scale = top / 127.0f;
    if (!(norm > 0) || !isfinite(norm) || !isfinite(scale) || !(scale > 0)) {
        memset(codes, 0, dim);
        return 0;
    }
    for (size_t i = 0; i < dim; i++) {
        // |x| <= 127 and a little (largest / scale), so its truncation fits an int32 and x - t is exact.
        float x = (vector[i] / norm) / scale;
        int32_t t = (int32_t)x;
        float rest = x - (float)t;
        t += (rest >= 0.5f) - (rest <= -0.5f);
        t = t > 127 ? 127 : (t < -127 ? -127 : t);
        codes[i] = (int8_t)t;
    }
    return scale;
}

void w2v_mean_of_rows(const float *matrix, size_t dim, const int64_t *rows, size_t count, float *out) {
    for (size_t i = 0; i < dim; i++) out[i] = 0.0f;
    // The rows lie anywhere in a large matrix: ask for the first lines of the next few while one is added.
    const size_t ahead = 8;
    for (size_t r = 0; r < count && r < ahead; r++) {
        const char *row = (const char *)(matrix + (size_t)rows[r] * dim);
        for (size_t line = 0; line < dim * sizeof(float); line += 64) __builtin_prefetch(row + line);
    }
    for (size_t r = 0; r < count; r++) {
        if (r + ahead < count) {
            const char *later = (const char *)(matrix + (size_t)rows[r + ahead] * dim);
            for (size_t line = 0; line < dim * sizeof(float); line += 64) __builtin_prefetch(later + line);
        }
        const float *row = matrix + (size_t)rows[r] * dim;
        for (size_t i = 0; i < dim; i++) out[i] += row[i];
    }
    float n = (float)count;
    for (size_t i = 0; i < dim; i++) out[i] /= n;
}

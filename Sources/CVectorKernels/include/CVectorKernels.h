#ifndef W2V_VECTOR_KERNELS_H
#define W2V_VECTOR_KERNELS_H

#include <stddef.h>
#include <stdint.h>

/// Dot products of int8 rows with float32 queries, the screening step of nearest-word search.
///
/// `codes` holds `rows` rows of `dim` int8 values, `queries` holds `query_count` rows of `dim` float32 values.
/// Writes `out[q * rows + r]` = sum over i of codes[r * dim + i] * queries[q * dim + i], accumulated in float32 in an
/// unspecified order. Uses AVX-512 or AVX2 with FMA when the CPU has them (chosen once, at the first call).
void w2v_int8_dot_rows(const int8_t *codes, size_t rows, size_t dim, const float *queries, size_t query_count,
                       float *out);

/// The instruction set `w2v_int8_dot_rows` uses on this CPU: "avx512", "avx2" or "scalar".
const char *w2v_int8_dot_rows_isa(void);

#endif

#ifndef W2V_VECTOR_KERNELS_H
#define W2V_VECTOR_KERNELS_H

#include <stddef.h>
#include <stdint.h>

/// Exact integer dot products of int8 rows with int16 queries, the screening step of nearest-word search.
///
/// `codes` holds `rows` rows of `dim` int8 values, `queries` holds `query_count` rows of `dim` int16 values.
/// Writes `out[q * rows + r]` = sum over i of codes[r * dim + i] * queries[q * dim + i], exactly when the caller keeps
/// |code| <= 127 and |query| <= (2^31 - 1) / (127 * dim), so that no sum leaves int32. Uses AVX-512 or AVX2 when the
/// CPU has them (chosen once, at the first call); every instruction set gives the same numbers.
void w2v_int8_dot_rows(const int8_t *codes, size_t rows, size_t dim, const int16_t *queries, size_t query_count,
                       int32_t *out);

/// The rows of a block that may be among a query's best: row `r` is kept when its approximation
/// `products[r] * query_scale * scales[r]` plus its error bound `scales[r] * per_scale + constant` reaches `threshold`
/// and its scale is not 0 (a row without direction). Writes the kept rows' indices, approximations and bounds, and
/// returns how many there are (at most `count`).
size_t w2v_select_rows(const int32_t *products, const float *scales, size_t count, float query_scale, float per_scale,
                       float constant, float threshold, uint32_t *rows, float *approx, float *bound);

/// The instruction set `w2v_int8_dot_rows` uses on this CPU: "avx512", "avx2" or "scalar".
const char *w2v_int8_dot_rows_isa(void);

/// `w2v_int8_dot_rows` with the kernel of instruction set `isa` ("avx512", "avx2" or "scalar"), so that tests can
/// check each one this CPU can run. Returns 0 when the CPU cannot run it (nothing is written), 1 otherwise.
int w2v_int8_dot_rows_using(const char *isa, const int8_t *codes, size_t rows, size_t dim, const int16_t *queries,
                            size_t query_count, int32_t *out);

/// The int8 codes of a row's direction for the search index: with `unit = vector / norm` and
/// `scale = max |unit| / 127`, `codes[i] = round(unit[i] / scale)` (half away from zero), within -127...127. Returns
/// `scale`; a row without direction (a norm that is 0, NaN or infinite) gets codes of 0 and a scale of 0. The same
/// numbers as that statement computed one float at a time, element for element.
float w2v_quantize_row(const float *vector, size_t dim, float norm, int8_t *codes);

/// `w2v_quantize_row` compiled for instruction set `isa` ("avx2" or "baseline"), so that tests can check each one
/// this CPU can run; the scale goes to `scale`. Returns 0 when the CPU cannot run it (nothing is written), 1 otherwise.
int w2v_quantize_row_using(const char *isa, const float *vector, size_t dim, float norm, int8_t *codes,
                           float *scale);

/// The mean of `count` rows of `matrix` (rows of `dim` float32): zeros, plus each row in the order given (float32
/// additions, element by element), divided by `count`; written to `out`. gensim's arithmetic for a word's n-gram
/// vector, bit for bit.
void w2v_mean_of_rows(const float *matrix, size_t dim, const int64_t *rows, size_t count, float *out);

/// Continues gzip's CRC-32 `*crc` (as zlib's `crc32` takes and returns it) over the longest prefix of `bytes` that
/// it folds with carry-less multiplication (PCLMULQDQ): a multiple of 16 bytes, 64 or more, on a CPU that has it.
/// Returns the bytes taken, 0 where it takes none; the caller finishes the rest with zlib. Six times zlib's speed on
/// an AMD EPYC core (14 against 2.3 GB/s).
size_t w2v_crc32_fold(uint32_t *crc, const void *bytes, size_t count);

#endif

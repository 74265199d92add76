#ifndef W2V_TABLE_REFERENCE_H
#define W2V_TABLE_REFERENCE_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Writes the table file `path` with LevelDB's own `TableBuilder`, as `w2v_table_writer` lays a table out: the
/// `count` keys of `keys` (each `key_length` bytes, NUL-free or not) tagged as values of sequence 0, the values
/// alike, no compression, blocks of `block_size`, a bloom filter of `bloom_bits_per_key` over the user keys (0 for
/// none), index keys not shortened. For tests: the table writer's files must equal these byte for byte. Returns
/// 1, or 0 with a message in `*error` (free it).
int w2v_reference_table(
    const char *path, const char *const *keys, const size_t *key_lengths, const char *const *values,
    const size_t *value_lengths, size_t count, size_t block_size, int bloom_bits_per_key, char **error);

#ifdef __cplusplus
}
#endif

#endif

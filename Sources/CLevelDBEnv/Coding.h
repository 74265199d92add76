// LevelDB's integer encodings (util/coding.h), for TableFiles.cpp, TableFileBuilder.cpp and CheckedTableFile.h.
#ifndef W2V_CODING_H
#define W2V_CODING_H

#include <stdint.h>

#include <string>

namespace w2v {

/// Writes the low `bytes` bytes of `value`, little-endian, at `out`.
inline void encodeFixed(char *out, uint64_t value, int bytes) {
    for (int index = 0; index < bytes; index++) out[index] = static_cast<char>(value >> (8 * index));
}

/// The 4-byte little-endian integer at `in`.
inline uint32_t decodeFixed32(const char *in) {
    uint32_t value = 0;
    for (int index = 3; index >= 0; index--) value = (value << 8) | static_cast<unsigned char>(in[index]);
    return value;
}

/// Appends the low `bytes` bytes of `value`, little-endian, to a `std::basic_string<char, …>`.
template <typename Bytes>
inline void putFixed(Bytes *out, uint64_t value, int bytes) {
    char encoded[8];
    encodeFixed(encoded, value, bytes);
    out->append(encoded, static_cast<size_t>(bytes));
}

/// Appends `value` as a varint: seven bits a byte, low first, the high bit set on every byte but the last.
template <typename Bytes>
inline void putVarint(Bytes *out, uint64_t value) {
    while (value >= 0x80) {
        out->push_back(static_cast<char>(value | 0x80));
        value >>= 7;
    }
    out->push_back(static_cast<char>(value));
}

}  // namespace w2v

#endif

// CRC-32C (Castagnoli), as LevelDB checksums its blocks and log records, for TableFiles.cpp and TableFileBuilder.cpp.
#ifndef W2V_CRC32C_H
#define W2V_CRC32C_H

#include <stddef.h>
#include <stdint.h>

namespace w2v {

/// The CRC-32C of `count` bytes following data whose CRC-32C is `crc` (0 for none), as LevelDB's
/// `crc32c::Extend`. With the CPU's CRC-32C instruction where it has one (SSE4.2, ARMv8's CRC extension): Debian's
/// LevelDB is built without it, and its table-driven CRC took a sixth of a large build's writing.
uint32_t crc32cExtend(uint32_t crc, const char *data, size_t count);

/// A CRC-32C as LevelDB stores it beside the data it covers (rotated and offset: `crc32c::Mask`).
inline uint32_t crc32cMask(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + 0xa282ead8u; }

}  // namespace w2v

#endif

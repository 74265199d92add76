#include "Crc32c.h"

#include "CLevelDBEnv.h"

#include <string.h>

#if defined(__x86_64__)
#include <nmmintrin.h>
#elif defined(__aarch64__)
#include <arm_acle.h>
#include <asm/hwcap.h>
#include <sys/auxv.h>
#endif

namespace w2v {
namespace {

constexpr uint32_t kPolynomial = 0x82F63B78u;  // reflected

/// Byte-at-a-time CRC-32C for CPUs without the instruction.
uint32_t extendPortable(uint32_t crc, const char *data, size_t count) {
    struct Table {
        uint32_t entries[256];
        Table() {
            for (uint32_t byte = 0; byte < 256; byte++) {
                uint32_t value = byte;
                for (int bit = 0; bit < 8; bit++) value = (value >> 1) ^ (kPolynomial & (0u - (value & 1)));
                entries[byte] = value;
            }
        }
    };
    static const Table table;
    uint32_t state = ~crc;
    for (size_t index = 0; index < count; index++) {
        state = table.entries[(state ^ static_cast<unsigned char>(data[index])) & 0xFF] ^ (state >> 8);
    }
    return ~state;
}

// The CPU's CRC-32C instruction, over 8 bytes and over 1, and the target that enables it.
#if defined(__x86_64__)
#define W2V_CRC32C_TARGET __attribute__((target("sse4.2")))
W2V_CRC32C_TARGET inline uint32_t crcWord(uint32_t state, uint64_t word) {
    return static_cast<uint32_t>(_mm_crc32_u64(state, word));
}
W2V_CRC32C_TARGET inline uint32_t crcByte(uint32_t state, unsigned char byte) { return _mm_crc32_u8(state, byte); }
bool hasInstruction() { return __builtin_cpu_supports("sse4.2"); }
#elif defined(__aarch64__)
#define W2V_CRC32C_TARGET __attribute__((target("crc")))
W2V_CRC32C_TARGET inline uint32_t crcWord(uint32_t state, uint64_t word) { return __crc32cd(state, word); }
W2V_CRC32C_TARGET inline uint32_t crcByte(uint32_t state, unsigned char byte) { return __crc32cb(state, byte); }
bool hasInstruction() { return (getauxval(AT_HWCAP) & HWCAP_CRC32) != 0; }
#endif

#ifdef W2V_CRC32C_TARGET
W2V_CRC32C_TARGET uint32_t extendInstruction(uint32_t crc, const char *data, size_t count) {
    uint32_t state = ~crc;
    for (; count >= 8; data += 8, count -= 8) {
        uint64_t word;
        memcpy(&word, data, 8);
        state = crcWord(state, word);
    }
    for (; count > 0; data++, count--) state = crcByte(state, static_cast<unsigned char>(*data));
    return ~state;
}
#else
uint32_t extendInstruction(uint32_t crc, const char *data, size_t count) { return extendPortable(crc, data, count); }
bool hasInstruction() { return false; }
#endif

}  // namespace

uint32_t crc32cExtend(uint32_t crc, const char *data, size_t count) {
    static const auto extend = hasInstruction() ? extendInstruction : extendPortable;
    return extend(crc, data, count);
}

}  // namespace w2v

extern "C" uint32_t w2v_crc32c(uint32_t crc, const void *data, size_t count, int portable) {
    const char *bytes = static_cast<const char *>(data);
    return portable ? w2v::extendPortable(crc, bytes, count) : w2v::crc32cExtend(crc, bytes, count);
}

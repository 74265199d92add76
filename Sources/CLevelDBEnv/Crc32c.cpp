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

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) uint32_t extendInstruction(uint32_t crc, const char *data, size_t count) {
    uint64_t state = ~crc;
    for (; count >= 8; data += 8, count -= 8) {
        uint64_t word;
        memcpy(&word, data, 8);
        state = _mm_crc32_u64(state, word);
    }
    uint32_t narrow = static_cast<uint32_t>(state);
    for (; count > 0; data++, count--) narrow = _mm_crc32_u8(narrow, static_cast<unsigned char>(*data));
    return ~narrow;
}

bool hasInstruction() { return __builtin_cpu_supports("sse4.2"); }
#elif defined(__aarch64__)
__attribute__((target("crc"))) uint32_t extendInstruction(uint32_t crc, const char *data, size_t count) {
    uint32_t state = ~crc;
    for (; count >= 8; data += 8, count -= 8) {
        uint64_t word;
        memcpy(&word, data, 8);
        state = __crc32cd(state, word);
    }
    for (; count > 0; data++, count--) state = __crc32cb(state, static_cast<unsigned char>(*data));
    return ~state;
}

bool hasInstruction() { return (getauxval(AT_HWCAP) & HWCAP_CRC32) != 0; }
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

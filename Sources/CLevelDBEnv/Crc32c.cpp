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

/// The table of the byte-at-a-time CRC: each byte's CRC register after it is shifted through. Made by the
/// compiler, so that no process spends its start on it.
struct ByteTable {
    uint32_t entries[256] = {};
    constexpr ByteTable() {
        for (uint32_t byte = 0; byte < 256; byte++) {
            uint32_t value = byte;
            for (int bit = 0; bit < 8; bit++) value = (value >> 1) ^ (kPolynomial & (0u - (value & 1)));
            entries[byte] = value;
        }
    }
};

constexpr ByteTable kByteTable;

/// Byte-at-a-time CRC-32C for CPUs without the instruction.
uint32_t extendPortable(uint32_t crc, const char *data, size_t count) {
    uint32_t state = ~crc;
    for (size_t index = 0; index < count; index++) {
        state = kByteTable.entries[(state ^ static_cast<unsigned char>(data[index])) & 0xFF] ^ (state >> 8);
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
/// The bytes of each of the three streams `extendInstruction` runs at once.
constexpr size_t kStreamLength = 256;

/// What `kStreamLength` zero bytes do to a CRC register, in four tables of a byte each: the register is a
/// polynomial over GF(2), so a stream's register carries into the next stream's as this linear map of it. Made by
/// the compiler, as `ByteTable` is.
struct StreamShift {
    uint32_t bytes[4][256] = {};
    constexpr StreamShift() {
        // The map of each of the register's 32 bits, then of each byte value in each of its four bytes.
        uint32_t bits[32] = {};
        for (int bit = 0; bit < 32; bit++) {
            uint32_t state = 1u << bit;
            for (size_t index = 0; index < kStreamLength; index++) {
                state = kByteTable.entries[state & 0xFF] ^ (state >> 8);
            }
            bits[bit] = state;
        }
        for (int part = 0; part < 4; part++) {
            for (uint32_t value = 0; value < 256; value++) {
                uint32_t shifted = 0;
                for (int bit = 0; bit < 8; bit++) {
                    if (value & (1u << bit)) shifted ^= bits[8 * part + bit];
                }
                bytes[part][value] = shifted;
            }
        }
    }
    uint32_t operator()(uint32_t state) const {
        return bytes[0][state & 0xFF] ^ bytes[1][(state >> 8) & 0xFF] ^ bytes[2][(state >> 16) & 0xFF] ^
               bytes[3][state >> 24];
    }
};

/// The instruction's CRC, three streams of `kStreamLength` bytes at a time (the instruction takes three cycles and
/// can start every cycle), joined through `StreamShift`: 0.20 against one stream's 0.42 µs a 4 KB block.
W2V_CRC32C_TARGET uint32_t extendInstruction(uint32_t crc, const char *data, size_t count) {
    static constexpr StreamShift shift;
    uint32_t state = ~crc;
    for (; count >= 3 * kStreamLength; data += 3 * kStreamLength, count -= 3 * kStreamLength) {
        uint32_t second = 0, third = 0;
        for (size_t offset = 0; offset < kStreamLength; offset += 8) {
            uint64_t words[3];
            memcpy(&words[0], data + offset, 8);
            memcpy(&words[1], data + kStreamLength + offset, 8);
            memcpy(&words[2], data + 2 * kStreamLength + offset, 8);
            state = crcWord(state, words[0]);
            second = crcWord(second, words[1]);
            third = crcWord(third, words[2]);
        }
        state = shift(shift(state) ^ second) ^ third;
    }
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

#include <zlib.h>

/// `inflateInit2` is a macro, which Swift cannot call: this wraps it.
static inline int w2v_inflateInit2(z_streamp stream, int windowBits) {
    return inflateInit2(stream, windowBits);
}

/// `deflateInit2` is a macro too (used by the sample-data writer).
static inline int w2v_deflateInit2(z_streamp stream, int level, int windowBits) {
    return deflateInit2(stream, level, Z_DEFLATED, windowBits, 8, Z_DEFAULT_STRATEGY);
}

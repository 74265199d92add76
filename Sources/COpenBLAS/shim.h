// OpenBLAS's CBLAS interface (Debian libopenblas-dev; the header is /usr/include/x86_64-linux-gnu/cblas.h).
#include <cblas.h>

#include <stdlib.h>
#include <string.h>

// OpenBLAS's kernel selection (driver/others/dynamic.c of a DYNAMIC_ARCH build, as Debian's are): forget the
// kernels chosen, and choose again, honouring OPENBLAS_CORETYPE. Weak: a build without them leaves its choice alone.
void gotoblas_dynamic_init(void) __attribute__((weak));
void gotoblas_dynamic_quit(void) __attribute__((weak));

/// Chooses the kernels OpenBLAS computes with in this process, and returns their name (`openblas_get_corename`).
///
/// Debian's OpenBLAS (0.3.21) picks its kernels by CPU model, and gives a model it does not know its generic SSE3
/// kernels (`Prescott`; Intel's Emerald Rapids, family 6 model 207, is one). They are slower, and they sum in another
/// order than the kernels numpy's own OpenBLAS picks on the same CPU, so scores would no longer be gensim's to the
/// bit. Where that happened on a CPU with AVX-512 (F, CD, BW, DQ, VL: what OpenBLAS's `SkylakeX` kernels need) or with
/// AVX2 and FMA (`Haswell`'s), this chooses those kernels, as `OPENBLAS_CORETYPE` would have. Run it before the first
/// BLAS call, once (it is not safe beside one). A core the user forced with `OPENBLAS_CORETYPE` is left as it is.
static inline const char *w2v_openblas_choose_kernels(void) {
#if defined(__x86_64__)
    if (getenv("OPENBLAS_CORETYPE") == NULL && strcmp(openblas_get_corename(), "Prescott") == 0 &&
        gotoblas_dynamic_init != NULL && gotoblas_dynamic_quit != NULL) {
        const char *core = NULL;
        if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512cd") &&
            __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
            __builtin_cpu_supports("avx512vl")) {
            core = "SkylakeX";
        } else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
            core = "Haswell";
        }
        if (core != NULL) {
            setenv("OPENBLAS_CORETYPE", core, 0);
            gotoblas_dynamic_quit();
            gotoblas_dynamic_init();
            unsetenv("OPENBLAS_CORETYPE");
        }
    }
#endif
    return openblas_get_corename();
}

// OpenBLAS's CBLAS interface (Debian libopenblas-dev; the header is /usr/include/x86_64-linux-gnu/cblas.h).
#include <cblas.h>

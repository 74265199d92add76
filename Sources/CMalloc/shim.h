// glibc's allocator calls, which Swift's Glibc module leaves out: `malloc_trim`, to give freed heap pages back.
#include <malloc.h>

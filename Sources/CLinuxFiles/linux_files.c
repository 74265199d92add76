#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include "CLinuxFiles.h"

int w2v_exchange_paths(const char *a, const char *b) {
    return renameat2(AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE);
}

int w2v_release_file_range(int descriptor, long long offset, long long length) {
    return fallocate(descriptor, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, offset, length);
}

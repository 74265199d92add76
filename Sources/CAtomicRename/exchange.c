#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include "CAtomicRename.h"

int w2v_exchange_paths(const char *a, const char *b) {
    return renameat2(AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE);
}

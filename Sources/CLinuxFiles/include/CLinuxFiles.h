#ifndef W2V_LINUX_FILES_H
#define W2V_LINUX_FILES_H

// Linux file calls that Swift cannot see: glibc declares them only under `_GNU_SOURCE`.

/// Exchanges the directory entries `a` and `b` in one step (`renameat2` with `RENAME_EXCHANGE`).
/// Returns 0, or -1 with `errno` set.
int w2v_exchange_paths(const char *a, const char *b);

/// Gives back the disk space and page cache of `length` bytes of an open file from `offset` (`fallocate` with
/// `FALLOC_FL_PUNCH_HOLE`), which read as zeros afterwards; the file keeps its size. Returns 0, or -1 with `errno`
/// set (`EOPNOTSUPP` where the file system cannot).
int w2v_release_file_range(int descriptor, long long offset, long long length);

#endif

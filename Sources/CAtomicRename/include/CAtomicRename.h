#ifndef W2V_ATOMIC_RENAME_H
#define W2V_ATOMIC_RENAME_H

/// Exchanges the directory entries `a` and `b` in one step (Linux `renameat2` with `RENAME_EXCHANGE`).
/// Returns 0, or -1 with `errno` set. Swift cannot see `renameat2`, which glibc declares only under `_GNU_SOURCE`.
int w2v_exchange_paths(const char *a, const char *b);

#endif

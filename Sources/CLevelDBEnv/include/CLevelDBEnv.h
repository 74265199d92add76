#ifndef W2V_LEVELDB_ENV_H
#define W2V_LEVELDB_ENV_H

#include <stddef.h>
#include <stdint.h>

#include <leveldb/c.h>

#ifdef __cplusplus
extern "C" {
#endif

/// How a read-only environment locks the database directory.
typedef enum {
    /// A shared lock on LOCK: other readers may open the database too; a writer may not.
    W2V_LOCK_SHARED = 0,
    /// An exclusive lock on LOCK (the directory must be writable): no other reader or writer may open it.
    W2V_LOCK_EXCLUSIVE = 1,
} w2v_lock_mode;

/// A LevelDB environment that never changes the database directory: whatever LevelDB writes while it opens or
/// reads a database (the MANIFEST and CURRENT it rewrites, a new write-ahead log, the tables a log replay or a
/// compaction makes, the info LOG) is kept in memory and read back from there; removals and renames are recorded
/// in memory, and LevelDB's LOCK is taken with `fcntl` as LevelDB itself takes it, but shared or exclusive as
/// `mode` says. A missing LOCK file is made (empty) where the directory can be written; a read-only copy without
/// one is opened without a lock.
///
/// Opened through it, a database reads from a read-only mount or a full disk, and several processes read one
/// directory at once. Writes through it would be lost when it closes: open such a database for reading only.
/// Its table files are mapped into memory, as LevelDB maps them, but a page of one that cannot be read (the file
/// cut short under it, a disk error) is a page of zeros and raises `w2v_env_is_damaged` rather than SIGBUS, which
/// would end the process; beyond 1,000 mapped at once they are read as `w2v_table_env_create` reads them. With
/// `check_blocks`, their blocks are checked as there. Free it with `w2v_env_destroy` after the database that uses it
/// is closed.
leveldb_env_t *w2v_overlay_env_create(w2v_lock_mode mode, int check_blocks);

/// LevelDB's own environment, except for how it reads table files: with `pread`, never mapped into memory (LevelDB
/// maps them on 64-bit systems, and a mapped file that shrinks under its reader, or whose disk fails a read, ends the
/// process with SIGBUS; read so, it is an error), for a database opened to write, whose reads are few and whose
/// compactions must never copy a page that is not the file's. With `check_blocks`, every block read is checked
/// against the checksum in its trailer, as LevelDB's `verify_checksums` read option checks it, but with the CPU's
/// CRC-32C instruction (`w2v_crc32c`) where Debian's LevelDB uses tables, ~5x slower: a damaged block is a
/// `Corruption` error naming the file and the offset. A database opened with blocks checked is read with LevelDB's
/// own check off. Free it with `w2v_env_destroy` after the database is closed.
leveldb_env_t *w2v_table_env_create(int check_blocks);

/// Whether a page of a table file that the environment mapped could not be read: 1 from then on (what was read
/// since may be zeros in place of the file's bytes), else 0.
int w2v_env_is_damaged(leveldb_env_t *env);

/// Frees an environment made by one of the functions here.
void w2v_env_destroy(leveldb_env_t *env);

/// LevelDB's own environment, except that write-ahead logs are never written (each log file exists, empty). For
/// a database built in a temporary directory that is thrown away unless the build completes, and whose last
/// memtable is flushed to a table before it is closed: there the log protects nothing, and writing it costs every
/// value a second write (LevelDB computes each record's checksum all the same). Its tables are written in 1 MB
/// pieces, not a `write` call per 4 KB block (LevelDB flushes a table file after each block, but reads it only once
/// closed). Its table files are read as `w2v_table_env_create` reads them, their blocks checked with `check_blocks`.
/// Free it with `w2v_env_destroy` after the database is closed.
leveldb_env_t *w2v_unlogged_env_create(int check_blocks);

/// Writes keys in strictly increasing order straight into new table files of a database directory, as a bulk load
/// that skips LevelDB's memtable, write-ahead log and flushes: each key gets sequence 0 (older than anything the
/// database itself holds), tables of `max_file_size` bytes or so, numbered from `first_file_number` (a number above
/// any the database uses), in `block_size` blocks, with LevelDB's bloom filter (none when `bloom_bits_per_key` is
/// 0) and no compression, byte for byte as LevelDB's `TableBuilder` would write them (index keys not shortened).
/// Until `w2v_table_writer_register` adds them to the database, which must be closed by then, they are named
/// `NNNNNN.staged`: an open database removes tables of its usual name that it does not know. With `direct_io` set,
/// tables are written past the page cache (`O_DIRECT`) where the file system allows it: the same bytes, without
/// filling memory with pages nothing reads before they are synced (`w2v_table_writer_set_direct_io` changes it for
/// the tables begun after).
typedef struct w2v_table_writer w2v_table_writer;

w2v_table_writer *w2v_table_writer_create(
    const char *directory, uint64_t first_file_number, size_t block_size, size_t max_file_size, int bloom_bits_per_key,
    int direct_io);

/// Adds a key and its value; 0 with `*error` set (free it with `leveldb_free`) when the key is not greater than the
/// one before it or a write fails.
int w2v_table_writer_add(
    w2v_table_writer *writer, const char *key, size_t key_length, const char *value, size_t value_length,
    char **error);

/// Ends the current table (the next key begins a new one); 0 with `*error` set on failure.
int w2v_table_writer_end_table(w2v_table_writer *writer, char **error);

/// Whether the tables begun from now on are written past the page cache (`O_DIRECT`) where the file system allows it.
void w2v_table_writer_set_direct_io(w2v_table_writer *writer, int direct_io);

/// Finishes the last table and syncs them all; 0 with `*error` set on failure.
int w2v_table_writer_finish(w2v_table_writer *writer, char **error);

/// The tables finished so far.
size_t w2v_table_writer_table_count(w2v_table_writer *writer);

/// Adds the finished tables to the closed database at `level` (1-6; no table of the database at that level may
/// overlap their keys): renames them to `NNNNNN.ldb`, then appends a version edit to the MANIFEST that CURRENT names,
/// and syncs both. Fails, changing nothing, when a file of the database has a number from `first_file_number` on.
int w2v_table_writer_register(w2v_table_writer *writer, int level, char **error);

/// Frees the writer; a table it had not finished is abandoned, its file left for the caller to remove.
void w2v_table_writer_destroy(w2v_table_writer *writer);

/// The bytes the environment holds in memory (files LevelDB wrote while it ran), for tests and `info`.
unsigned long long w2v_overlay_env_memory_bytes(leveldb_env_t *env);

/// Whether another process holds LevelDB's lock on `lock_path` (the LOCK file of a database directory), as
/// `fcntl(F_GETLK)` tells for an exclusive lock, or this process through an overlay environment: 1 held, 0 free
/// (or no such file), -1 on error (errno set).
int w2v_lock_is_held(const char *lock_path);

/// The CRC-32C (Castagnoli) of `count` bytes following data whose CRC-32C is `crc` (0 for none), as LevelDB checksums
/// blocks and log records: with the CPU's instruction where it has one, or with `portable` the table-driven code that
/// CPUs without it use.
uint32_t w2v_crc32c(uint32_t crc, const void *data, size_t count, int portable);

#ifdef __cplusplus
}
#endif

#endif

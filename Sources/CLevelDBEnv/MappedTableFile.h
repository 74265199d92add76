// A LevelDB table file mapped into memory, whose unreadable pages are an error rather than SIGBUS (see
// MappedTableFile), for the read-only environment OverlayEnv.cpp makes.
#ifndef W2V_MAPPED_TABLE_FILE_H
#define W2V_MAPPED_TABLE_FILE_H

#include <stdint.h>

#include <atomic>
#include <string>

#include <leveldb/env.h>
#include <leveldb/slice.h>
#include <leveldb/status.h>

namespace w2v {

/// Raised, for good, when a page of one of an environment's mapped table files could not be read. From then on
/// every read through the environment's database is to be refused: what it read may be zeros in place of that page.
using DamageFlag = std::atomic<bool>;

/// A table file mapped into memory, as LevelDB's own environment maps table files on 64-bit systems (a read is a
/// pointer into the file's pages, neither a system call nor a copy), but safe against the file shrinking under its
/// reader (copied over with `cp`, rewritten in place by `rsync --inplace`) or its disk failing a read. Either makes
/// the next touch of a page that is gone deliver SIGBUS, which ends the process: a server would die with every
/// client's request. A handler installed with the first such file (the one before it still handles every other
/// SIGBUS) puts a page of zeros where the fault was, so that the reading thread goes on, and first raises the
/// environment's `DamageFlag`: the database refuses every read from then on, and those under way when the fault came
/// are refused once they return, so that no value read from those zeros is handed on. At most `kMaximumMapped` files
/// are mapped at once (LevelDB's own limit); `map` answers no file beyond them, to be read with `pread` instead.
class MappedTableFile final : public leveldb::RandomAccessFile {
  public:
    static constexpr size_t kMaximumMapped = 1000;

    /// Maps the table file `name`, open as `descriptor` (which the caller still closes) and `size` bytes, whose
    /// faults raise `damaged`; null where no more files may be mapped or the mapping fails: read it otherwise.
    static MappedTableFile *map(int descriptor, uint64_t size, DamageFlag *damaged, const std::string &name);
    ~MappedTableFile() override;

    /// The `n` bytes at `offset`, where they lie in the mapping: a `Corruption` past the end of the file, or once the
    /// environment's `DamageFlag` is raised.
    leveldb::Status Read(uint64_t offset, size_t n, leveldb::Slice *result, char *scratch) const override;

  private:
    MappedTableFile(const char *base, uint64_t length, size_t slot, DamageFlag *damaged, std::string name)
        : base_(base), length_(length), slot_(slot), damaged_(damaged), name_(std::move(name)) {}

    const char *base_;
    uint64_t length_;
    size_t slot_;
    DamageFlag *damaged_;
    std::string name_;
};

}  // namespace w2v

#endif

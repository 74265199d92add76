// A LevelDB table file read with `pread` (see PreadTableFile), for the environments OverlayEnv.cpp makes.
#ifndef W2V_PREAD_TABLE_FILE_H
#define W2V_PREAD_TABLE_FILE_H

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <utility>

#include <leveldb/env.h>
#include <leveldb/slice.h>
#include <leveldb/status.h>

namespace w2v {

/// The error for a table file of `size` bytes that LevelDB reads `n` bytes of at `offset`, past its end: LevelDB reads
/// a table only within the size its MANIFEST records, so the file has been cut short since it was written.
inline leveldb::Status cutShort(const std::string &name, uint64_t size, uint64_t offset, size_t n) {
    return leveldb::Status::Corruption(
        name, "the file is " + std::to_string(size) + " bytes, short of the " + std::to_string(n) +
                  " bytes at offset " + std::to_string(offset) +
                  " that the database holds there (truncated or replaced since written)");
}

/// Opens the table file `name` to read it: `*descriptor` (the caller's to close) and `*size`, the file's size now.
inline leveldb::Status openTable(const std::string &name, int *descriptor, uint64_t *size) {
    *descriptor = ::open(name.c_str(), O_RDONLY | O_CLOEXEC);
    struct stat information;
    if (*descriptor >= 0 && fstat(*descriptor, &information) == 0) {
        *size = static_cast<uint64_t>(information.st_size);
        return leveldb::Status::OK();
    }
    int number = errno;  // of the open or the fstat that failed
    if (*descriptor >= 0) close(*descriptor);
    if (number == ENOENT) return leveldb::Status::NotFound(name, strerror(number));
    return leveldb::Status::IOError(name, strerror(number));
}

/// A table file read with `pread` into LevelDB's buffer, never mapped into memory as LevelDB's own environment maps
/// table files on 64-bit systems. A mapped file that shrinks under its reader (copied over with `cp`, rewritten in
/// place by `rsync --inplace`), or whose disk fails a read, delivers SIGBUS to the reader, which ends the process: a
/// server would die with every client's request. Read with `pread`, the same file gives a `Corruption` or an
/// `IOError`, and the reader answers with an error. The blocks it reads go into LevelDB's block cache (a mapped
/// table's never do). Owns its descriptor.
class PreadTableFile final : public leveldb::RandomAccessFile {
  public:
    /// Reads the table file `name` through `descriptor` (from `openTable`).
    PreadTableFile(int descriptor, std::string name) : descriptor_(descriptor), name_(std::move(name)) {}

    ~PreadTableFile() override { close(descriptor_); }

    /// Reads `n` bytes from `offset`. LevelDB reads a table only within the size its MANIFEST records, so the end of
    /// the file before them is damage: a `Corruption` naming the file and its size.
    leveldb::Status Read(uint64_t offset, size_t n, leveldb::Slice *result, char *scratch) const override {
        size_t done = 0;
        while (done < n) {
            ssize_t count = pread(descriptor_, scratch + done, n - done, static_cast<off_t>(offset + done));
            if (count < 0 && errno == EINTR) continue;
            if (count < 0) {
                *result = leveldb::Slice();
                return leveldb::Status::IOError(name_, strerror(errno));
            }
            if (count == 0) {
                *result = leveldb::Slice();
                return truncated(offset, n);
            }
            done += static_cast<size_t>(count);
        }
        *result = leveldb::Slice(scratch, done);
        return leveldb::Status::OK();
    }

  private:
    /// The file ended within the `n` bytes at `offset`, where LevelDB expects them.
    leveldb::Status truncated(uint64_t offset, size_t n) const {
        struct stat information;
        if (fstat(descriptor_, &information) != 0) information.st_size = static_cast<off_t>(offset);
        return cutShort(name_, static_cast<uint64_t>(information.st_size), offset, n);
    }

    int descriptor_;
    std::string name_;
};

}  // namespace w2v

#endif

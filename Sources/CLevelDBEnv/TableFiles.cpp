// LevelDB table files written straight from keys in order, and their registration in a closed database's MANIFEST.
// See include/CLevelDBEnv.h for what it is for.

#include "CLevelDBEnv.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cinttypes>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <leveldb/env.h>
#include <leveldb/filter_policy.h>
#include <leveldb/slice.h>
#include <leveldb/status.h>

#include "Coding.h"
#include "Crc32c.h"
#include "TableFileBuilder.h"

namespace {

using leveldb::Slice;
using leveldb::Status;
using w2v::putFixed;
using w2v::putVarint;

// What this writes is LevelDB's on-disk format (LevelDB 1.x: db/dbformat.h, db/log_format.h, db/version_edit.cc),
// which the C and C++ APIs do not expose:
// - a key in a table is the user's key followed by 8 bytes, little-endian: (sequence << 8) | type, type 1 a value;
// - the MANIFEST is a log of version edits in 32 KB blocks, each record fragment behind a 7-byte header (masked
//   CRC-32C of type and payload, length, type);
// - a version edit is a series of varint tags and fields.
constexpr uint64_t kValueTag = (0ull << 8) | 1;  // sequence 0: older than anything LevelDB itself wrote
constexpr size_t kTagSize = 8;
constexpr size_t kLogBlockSize = 32768;
constexpr size_t kLogHeaderSize = 7;
enum LogRecordType : char { kFullType = 1, kFirstType = 2, kMiddleType = 3, kLastType = 4 };
enum VersionEditTag : uint32_t { kNextFileNumber = 3, kNewFile = 7 };
constexpr int kLevels = 7;

/// A finished table, as the version edit describes it.
struct TableFile {
    uint64_t number = 0;
    uint64_t size = 0;
    std::string smallest;
    std::string largest;
};

char *copyMessage(const std::string &message) { return strdup(message.c_str()); }

bool fail(char **error, const Status &status) {
    if (error) *error = copyMessage(status.ToString());
    return false;
}

/// A table's file name in the database directory: `NNNNNN.ldb` once registered, `NNNNNN.staged` before, which
/// LevelDB does not take for one of its files (it would remove an unknown table while the database is open).
std::string tableName(const std::string &directory, uint64_t number, bool staged) {
    char name[40];
    snprintf(name, sizeof(name), "/%06" PRIu64 "%s", number, staged ? ".staged" : ".ldb");
    return directory + name;
}

bool hasSuffix(const std::string &name, const std::string &suffix) {
    return name.size() > suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
}

Status syncDirectory(const std::string &directory) {
    int descriptor = open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (descriptor < 0) return Status::IOError(directory, strerror(errno));
    int result = fsync(descriptor);
    int number = errno;
    close(descriptor);
    return result == 0 ? Status::OK() : Status::IOError(directory, strerror(number));
}

/// Appends `record` to a log file whose size is `offset`, as LevelDB's log writer does.
std::string logRecords(const std::string &record, uint64_t offset) {
    std::string out;
    size_t blockOffset = static_cast<size_t>(offset % kLogBlockSize);
    size_t left = record.size();
    const char *pointer = record.data();
    bool begin = true;
    do {
        size_t leftover = kLogBlockSize - blockOffset;
        if (leftover < kLogHeaderSize) {
            out.append(leftover, '\0');
            blockOffset = 0;
        }
        size_t available = kLogBlockSize - blockOffset - kLogHeaderSize;
        size_t length = left < available ? left : available;
        bool end = length == left;
        char type = begin && end ? kFullType : (begin ? kFirstType : (end ? kLastType : kMiddleType));
        uint32_t crc = w2v::crc32cExtend(w2v::crc32cExtend(0, &type, 1), pointer, length);
        putFixed(&out, w2v::crc32cMask(crc), 4);
        putFixed(&out, length, 2);
        out.push_back(type);
        out.append(pointer, length);
        blockOffset += kLogHeaderSize + length;
        pointer += length;
        left -= length;
        begin = false;
    } while (left > 0);
    return out;
}

}  // namespace

struct w2v_table_writer {
    std::string directory;
    uint64_t firstNumber;
    uint64_t nextNumber;
    uint64_t maxFileSize;
    size_t blockSize;
    /// Whether the tables begun from now on are written past the page cache (`O_DIRECT`) where the file system allows
    /// it.
    bool directIO;
    /// LevelDB's bloom filter over user keys, as a database's tables hold it; null for none.
    std::unique_ptr<const leveldb::FilterPolicy> bloom;
    /// The table being written, if any: the last of `files`.
    w2v::TableFileBuilder *builder = nullptr;
    TableFile current;
    std::vector<TableFile> finished;
    /// The tables, open until the last is finished and all are synced.
    std::vector<std::unique_ptr<w2v::TableFileBuilder>> files;
    /// The key being added, and the one before it (empty before the first: a stored key is never empty), each with
    /// its tag.
    std::string key;
    std::string last;

    bool finishTable(char **error) {
        current.largest = last;
        Status status = builder->finish();
        current.size = builder->fileSize();
        builder = nullptr;
        if (!status.ok()) return fail(error, status);
        finished.push_back(current);
        return true;
    }

    bool syncTables(char **error) {
        Status status;
        for (auto &file : files) {
            Status synced = file->syncAndClose();
            if (status.ok()) status = synced;
        }
        files.clear();
        return status.ok() || fail(error, status);
    }
};

extern "C" w2v_table_writer *w2v_table_writer_create(
    const char *directory, uint64_t first_file_number, size_t block_size, size_t max_file_size,
    int bloom_bits_per_key, int direct_io) {
    w2v_table_writer *writer = new w2v_table_writer;
    writer->directory = directory;
    writer->firstNumber = first_file_number;
    writer->nextNumber = first_file_number;
    writer->maxFileSize = max_file_size;
    writer->blockSize = block_size;
    writer->directIO = direct_io != 0;
    if (bloom_bits_per_key > 0) writer->bloom.reset(leveldb::NewBloomFilterPolicy(bloom_bits_per_key));
    return writer;
}

extern "C" int w2v_table_writer_add(
    w2v_table_writer *writer, const char *key, size_t key_length, const char *value, size_t value_length,
    char **error) {
    const Slice lastUserKey(writer->last.data(), writer->last.empty() ? 0 : writer->last.size() - kTagSize);
    if (!writer->last.empty() && Slice(key, key_length).compare(lastUserKey) <= 0) {
        return fail(error, Status::InvalidArgument("table keys out of order", Slice(key, key_length)));
    }
    writer->key.assign(key, key_length);
    putFixed(&writer->key, kValueTag, 8);
    if (!writer->builder) {
        writer->current = TableFile();
        writer->current.number = writer->nextNumber++;
        writer->current.smallest = writer->key;
        const std::string name = tableName(writer->directory, writer->current.number, true);
        const int flags = O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC;
        int descriptor = -1;
        bool direct = false;
        if (writer->directIO) {
            descriptor = open(name.c_str(), flags | O_DIRECT, 0644);
            direct = descriptor >= 0;
        }
        // Not asked for, or refused by a file system without direct writes (EINVAL): through the page cache.
        if (!writer->directIO || (!direct && errno == EINVAL)) descriptor = open(name.c_str(), flags, 0644);
        if (descriptor < 0) return fail(error, Status::IOError(name, strerror(errno)));
        writer->files.emplace_back(
            new w2v::TableFileBuilder(descriptor, direct, name, writer->blockSize, writer->bloom.get()));
        writer->builder = writer->files.back().get();
    }
    Status status = writer->builder->add(writer->key, Slice(value, value_length));
    writer->last.swap(writer->key);
    if (!status.ok()) return fail(error, status);
    if (writer->builder->fileSize() >= writer->maxFileSize) return writer->finishTable(error);
    return true;
}

extern "C" int w2v_table_writer_end_table(w2v_table_writer *writer, char **error) {
    return !writer->builder || writer->finishTable(error);
}

extern "C" void w2v_table_writer_set_direct_io(w2v_table_writer *writer, int direct_io) {
    writer->directIO = direct_io != 0;
}

extern "C" int w2v_table_writer_finish(w2v_table_writer *writer, char **error) {
    if (writer->builder && !writer->finishTable(error)) return false;
    return writer->syncTables(error);
}

extern "C" size_t w2v_table_writer_table_count(w2v_table_writer *writer) { return writer->finished.size(); }

extern "C" int w2v_table_writer_register(w2v_table_writer *writer, int level, char **error) {
    if (writer->builder) return fail(error, Status::InvalidArgument("tables registered before they were finished"));
    if (level < 1 || level >= kLevels) return fail(error, Status::InvalidArgument("no such level"));
    if (writer->finished.empty()) return true;
    std::string current;
    Status status = leveldb::ReadFileToString(leveldb::Env::Default(), writer->directory + "/CURRENT", &current);
    if (!status.ok()) return fail(error, status);
    if (current.empty() || current.back() != '\n' || current.compare(0, 9, "MANIFEST-") != 0) {
        return fail(error, Status::Corruption("CURRENT does not name a MANIFEST", writer->directory));
    }
    current.pop_back();
    // The database's own files must all be numbered below the tables' (LevelDB numbers its logs, tables and
    // MANIFESTs from one counter, which the edit moves past the tables).
    std::vector<std::string> children;
    status = leveldb::Env::Default()->GetChildren(writer->directory, &children);
    if (!status.ok()) return fail(error, status);
    for (const std::string &child : children) {
        if (hasSuffix(child, ".staged")) continue;
        const char *digits = child.compare(0, 9, "MANIFEST-") == 0 ? child.c_str() + 9 : child.c_str();
        char *end = nullptr;
        errno = 0;
        unsigned long long number = strtoull(digits, &end, 10);
        if (end == digits || errno != 0 || number < writer->firstNumber) continue;
        return fail(error, Status::Corruption("a database file numbered among the new tables", child));
    }
    for (const TableFile &table : writer->finished) {
        status = leveldb::Env::Default()->RenameFile(
            tableName(writer->directory, table.number, true), tableName(writer->directory, table.number, false));
        if (!status.ok()) return fail(error, status);
    }
    status = syncDirectory(writer->directory);
    if (!status.ok()) return fail(error, status);

    std::string edit;
    putVarint(&edit, kNextFileNumber);
    putVarint(&edit, writer->finished.back().number + 1);
    for (const TableFile &table : writer->finished) {
        putVarint(&edit, kNewFile);
        putVarint(&edit, static_cast<uint64_t>(level));
        putVarint(&edit, table.number);
        putVarint(&edit, table.size);
        putVarint(&edit, table.smallest.size());
        edit.append(table.smallest);
        putVarint(&edit, table.largest.size());
        edit.append(table.largest);
    }

    const std::string manifest = writer->directory + "/" + current;
    int descriptor = open(manifest.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
    if (descriptor < 0) return fail(error, Status::IOError(manifest, strerror(errno)));
    struct stat information;
    if (fstat(descriptor, &information) != 0) {
        int number = errno;
        close(descriptor);
        return fail(error, Status::IOError(manifest, strerror(number)));
    }
    const std::string records = logRecords(edit, static_cast<uint64_t>(information.st_size));
    size_t written = 0;
    while (written < records.size()) {
        ssize_t count = write(descriptor, records.data() + written, records.size() - written);
        if (count < 0 && errno == EINTR) continue;
        if (count <= 0) {
            int number = count < 0 ? errno : EIO;
            close(descriptor);
            return fail(error, Status::IOError(manifest, strerror(number)));
        }
        written += static_cast<size_t>(count);
    }
    if (fdatasync(descriptor) != 0) {
        int number = errno;
        close(descriptor);
        return fail(error, Status::IOError(manifest, strerror(number)));
    }
    close(descriptor);
    return true;
}

extern "C" void w2v_table_writer_destroy(w2v_table_writer *writer) { delete writer; }

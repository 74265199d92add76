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

#include <leveldb/comparator.h>
#include <leveldb/env.h>
#include <leveldb/filter_policy.h>
#include <leveldb/options.h>
#include <leveldb/slice.h>
#include <leveldb/status.h>
#include <leveldb/table_builder.h>

namespace {

using leveldb::Slice;
using leveldb::Status;

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

void putVarint(std::string *out, uint64_t value) {
    while (value >= 0x80) {
        out->push_back(static_cast<char>(value | 0x80));
        value >>= 7;
    }
    out->push_back(static_cast<char>(value));
}

void putFixed(std::string *out, uint64_t value, int bytes) {
    for (int index = 0; index < bytes; index++) out->push_back(static_cast<char>(value >> (8 * index)));
}

uint64_t fixed64(const char *bytes) {
    uint64_t value = 0;
    for (int index = 7; index >= 0; index--) value = (value << 8) | static_cast<unsigned char>(bytes[index]);
    return value;
}

/// CRC-32C (Castagnoli), as LevelDB checksums log records.
uint32_t crc32c(const std::string &data) {
    struct Table {
        uint32_t entries[256];
        Table() {
            for (uint32_t byte = 0; byte < 256; byte++) {
                uint32_t crc = byte;
                for (int bit = 0; bit < 8; bit++) crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1)));
                entries[byte] = crc;
            }
        }
    };
    static const Table table;
    uint32_t crc = 0xFFFFFFFFu;
    for (unsigned char byte : data) crc = table.entries[(crc ^ byte) & 0xFF] ^ (crc >> 8);
    return crc ^ 0xFFFFFFFFu;
}

/// Keys ordered as LevelDB's internal key comparator orders them: user keys bytewise, then newer sequence first.
/// Index keys are not shortened: a block's last key is a valid separator.
class InternalKeyOrder final : public leveldb::Comparator {
  public:
    int Compare(const Slice &a, const Slice &b) const override {
        int order = Slice(a.data(), a.size() - kTagSize).compare(Slice(b.data(), b.size() - kTagSize));
        if (order != 0) return order;
        uint64_t x = fixed64(a.data() + a.size() - kTagSize), y = fixed64(b.data() + b.size() - kTagSize);
        return x > y ? -1 : (x < y ? 1 : 0);
    }
    const char *Name() const override { return "leveldb.InternalKeyComparator"; }
    void FindShortestSeparator(std::string *, const Slice &) const override {}
    void FindShortSuccessor(std::string *) const override {}
};

/// LevelDB's bloom filter over the user keys, as a database's tables hold it: the table builder hands the filter
/// internal keys, and a reader asks it about user keys under the user policy's name.
class UserKeyFilter final : public leveldb::FilterPolicy {
  public:
    explicit UserKeyFilter(int bitsPerKey) : user_(leveldb::NewBloomFilterPolicy(bitsPerKey)) {}
    ~UserKeyFilter() override { delete user_; }

    const char *Name() const override { return user_->Name(); }
    void CreateFilter(const Slice *keys, int count, std::string *out) const override {
        std::vector<Slice> userKeys;
        userKeys.reserve(static_cast<size_t>(count));
        for (int index = 0; index < count; index++) {
            userKeys.emplace_back(keys[index].data(), keys[index].size() - kTagSize);
        }
        user_->CreateFilter(userKeys.data(), count, out);
    }
    bool KeyMayMatch(const Slice &key, const Slice &filter) const override {
        return user_->KeyMayMatch(Slice(key.data(), key.size() - kTagSize), filter);
    }

  private:
    const leveldb::FilterPolicy *user_;
};

/// A table file written in 1 MB pieces, whose `Sync` only starts the writeback: the writer syncs every table at once
/// when it finishes, by when the disk has written most of them meanwhile (a table builder syncs each table as it
/// finishes it, which would stop the build for the disk 64 MB at a time).
class TableOutputFile final : public leveldb::WritableFile {
  public:
    TableOutputFile(int descriptor, std::string name) : descriptor_(descriptor), name_(std::move(name)) {
        buffer_.reserve(kCapacity);
    }
    ~TableOutputFile() override { close(); }

    Status Append(const Slice &data) override {
        if (buffer_.size() + data.size() > kCapacity) {
            Status status = writeOut();
            if (!status.ok()) return status;
            if (data.size() >= kCapacity) return writeAll(data.data(), data.size());
        }
        buffer_.append(data.data(), data.size());
        return Status::OK();
    }
    Status Flush() override { return Status::OK(); }
    Status Sync() override {
        Status status = writeOut();
        if (status.ok() && sync_file_range(descriptor_, 0, 0, SYNC_FILE_RANGE_WRITE) != 0 && errno != ENOSYS) {
            status = Status::IOError(name_, strerror(errno));
        }
        return status;
    }
    Status Close() override { return writeOut(); }

    /// Waits until the file is on disk, and closes it.
    Status syncAndClose() {
        Status status = writeOut();
        if (status.ok() && fdatasync(descriptor_) != 0) status = Status::IOError(name_, strerror(errno));
        close();
        return status;
    }

  private:
    static constexpr size_t kCapacity = 1 << 20;

    Status writeOut() {
        Status status = writeAll(buffer_.data(), buffer_.size());
        buffer_.clear();
        return status;
    }

    Status writeAll(const char *data, size_t count) {
        while (count > 0) {
            ssize_t written = write(descriptor_, data, count);
            if (written < 0 && errno == EINTR) continue;
            if (written <= 0) return Status::IOError(name_, strerror(written < 0 ? errno : EIO));
            data += written;
            count -= static_cast<size_t>(written);
        }
        return Status::OK();
    }

    void close() {
        if (descriptor_ >= 0) ::close(descriptor_);
        descriptor_ = -1;
    }

    int descriptor_;
    std::string name_;
    std::string buffer_;
};

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
        std::string checked(1, type);
        checked.append(pointer, length);
        uint32_t crc = crc32c(checked);
        uint32_t masked = ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
        putFixed(&out, masked, 4);
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
    InternalKeyOrder order;
    std::unique_ptr<UserKeyFilter> filter;
    leveldb::Options options;
    std::unique_ptr<leveldb::TableBuilder> builder;
    TableFile current;
    std::vector<TableFile> finished;
    /// The files of the tables, open until the last is finished and all are synced.
    std::vector<std::unique_ptr<TableOutputFile>> files;
    /// The key being added, and the one before it (empty before the first: a stored key is never empty).
    std::string key;
    std::string last;

    bool finishTable(char **error) {
        current.largest = last;
        Status status = builder->Finish();
        if (status.ok()) status = files.back()->Sync();
        current.size = builder->FileSize();
        builder.reset();
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
    int bloom_bits_per_key) {
    w2v_table_writer *writer = new w2v_table_writer;
    writer->directory = directory;
    writer->firstNumber = first_file_number;
    writer->nextNumber = first_file_number;
    writer->maxFileSize = max_file_size;
    if (bloom_bits_per_key > 0) writer->filter.reset(new UserKeyFilter(bloom_bits_per_key));
    writer->options.comparator = &writer->order;
    writer->options.filter_policy = writer->filter.get();
    writer->options.block_size = block_size;
    writer->options.compression = leveldb::kNoCompression;
    return writer;
}

extern "C" int w2v_table_writer_add(
    w2v_table_writer *writer, const char *key, size_t key_length, const char *value, size_t value_length,
    char **error) {
    writer->key.assign(key, key_length);
    putFixed(&writer->key, kValueTag, 8);
    if (!writer->last.empty() && writer->order.Compare(writer->key, writer->last) <= 0) {
        return fail(error, Status::InvalidArgument("table keys out of order", Slice(key, key_length)));
    }
    if (!writer->builder) {
        writer->current = TableFile();
        writer->current.number = writer->nextNumber++;
        writer->current.smallest = writer->key;
        const std::string name = tableName(writer->directory, writer->current.number, true);
        int descriptor = open(name.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (descriptor < 0) return fail(error, Status::IOError(name, strerror(errno)));
        writer->files.emplace_back(new TableOutputFile(descriptor, name));
        writer->builder.reset(new leveldb::TableBuilder(writer->options, writer->files.back().get()));
    }
    writer->builder->Add(writer->key, Slice(value, value_length));
    writer->last.swap(writer->key);
    if (!writer->builder->status().ok()) return fail(error, writer->builder->status());
    if (writer->builder->FileSize() >= writer->maxFileSize) return writer->finishTable(error);
    return true;
}

extern "C" int w2v_table_writer_end_table(w2v_table_writer *writer, char **error) {
    return !writer->builder || writer->finishTable(error);
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

extern "C" void w2v_table_writer_destroy(w2v_table_writer *writer) {
    if (writer->builder) writer->builder->Abandon();
    delete writer;
}

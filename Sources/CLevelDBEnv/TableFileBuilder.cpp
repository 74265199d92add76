#include "TableFileBuilder.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "Coding.h"
#include "Crc32c.h"

namespace w2v {
namespace {

using leveldb::Slice;
using leveldb::Status;

/// The file is written in pieces of about this size.
constexpr size_t kPiece = 1 << 20;
/// A block's trailer: its compression type (none) and the masked CRC-32C of its contents and that type.
constexpr size_t kTrailerSize = 5;
constexpr char kNoCompression = 0;
/// One filter for each 2 KB of the file (LevelDB's `kFilterBaseLg`).
constexpr int kFilterBaseLg = 11;
/// A footer holds two block handles padded to their greatest length (10 bytes a varint), then the magic number.
constexpr size_t kFooterHandlesSize = 40;
constexpr uint64_t kTableMagicNumber = 0xdb4775248b80fb57ull;

}  // namespace

void TableFileBuilder::BlockHandle::encodeTo(std::string *out) const {
    putVarint(out, offset);
    putVarint(out, size);
}

void TableFileBuilder::BlockAssembler::add(const Slice &key, const Slice &value) {
    size_t shared = 0;
    if (counter < restartInterval) {
        const size_t common = std::min(lastKey.size(), key.size());
        while (shared < common && lastKey[shared] == key[shared]) shared++;
    } else {
        restarts.push_back(static_cast<uint32_t>(buffer->size() - start));
        counter = 0;
    }
    const size_t unshared = key.size() - shared;
    putVarint(buffer, shared);
    putVarint(buffer, unshared);
    putVarint(buffer, value.size());
    buffer->append(key.data() + shared, unshared);
    buffer->append(value.data(), value.size());
    lastKey.resize(shared);
    lastKey.append(key.data() + shared, unshared);
    counter++;
    empty = false;
}

void TableFileBuilder::BlockAssembler::finish() {
    for (uint32_t restart : restarts) putFixed(buffer, restart, 4);
    putFixed(buffer, restarts.size(), 4);
}

void TableFileBuilder::BlockAssembler::reset(size_t newStart) {
    start = newStart;
    restarts.assign(1, 0);
    counter = 0;
    lastKey.clear();
    empty = true;
}

TableFileBuilder::TableFileBuilder(
    int descriptor, bool direct, std::string name, size_t blockSize, const leveldb::FilterPolicy *bloom)
    : descriptor_(descriptor), direct_(direct), name_(std::move(name)), blockSize_(blockSize), bloom_(bloom) {
    output_.reserve(kPiece + 2 * blockSize + 2 * kDirectAlignment);
}

TableFileBuilder::~TableFileBuilder() {
    if (descriptor_ >= 0) close(descriptor_);
}

Status TableFileBuilder::add(const Slice &internalKey, const Slice &value) {
    if (!status_.ok()) return status_;
    if (pendingIndexEntry_) {
        // LevelDB would shorten the block's last key to a separator here; the comparator of these tables does not.
        std::string handle;
        pendingHandle_.encodeTo(&handle);
        index_.add(lastKey_, handle);
        pendingIndexEntry_ = false;
    }
    if (bloom_) {
        // LevelDB's filter block is handed internal keys, and its bloom filter hashes their user keys.
        filterKeyStarts_.push_back(filterKeys_.size());
        filterKeys_.append(internalKey.data(), internalKey.size() - 8);
    }
    lastKey_.assign(internalKey.data(), internalKey.size());
    data_.add(internalKey, value);
    if (data_.sizeEstimate() >= blockSize_) flushDataBlock();
    return status_;
}

void TableFileBuilder::flushDataBlock() {
    if (data_.empty || !status_.ok()) return;
    data_.finish();
    pendingHandle_ = sealBlock(data_.start);
    pendingIndexEntry_ = true;
    if (output_.size() >= kPiece) status_ = writeOutput(false);
    data_.reset(output_.size());
    if (bloom_) startFilters(offset_);
}

TableFileBuilder::BlockHandle TableFileBuilder::sealBlock(size_t start) {
    BlockHandle handle;
    handle.offset = offset_;
    handle.size = output_.size() - start;
    char trailer[kTrailerSize] = {kNoCompression};
    uint32_t crc = crc32cExtend(crc32cExtend(0, output_.data() + start, handle.size), trailer, 1);
    encodeFixed(trailer + 1, crc32cMask(crc), 4);
    output_.append(trailer, kTrailerSize);
    offset_ += handle.size + kTrailerSize;
    return handle;
}

TableFileBuilder::BlockHandle TableFileBuilder::appendBlock(const char *contents, size_t size) {
    const size_t start = output_.size();
    output_.append(contents, size);
    return sealBlock(start);
}

void TableFileBuilder::startFilters(uint64_t blockOffset) {
    const uint64_t filterIndex = blockOffset >> kFilterBaseLg;
    while (filterIndex > filterOffsets_.size()) generateFilter();
}

void TableFileBuilder::generateFilter() {
    filterOffsets_.push_back(static_cast<uint32_t>(filters_.size()));
    if (filterKeyStarts_.empty()) return;
    std::vector<Slice> keys;
    keys.reserve(filterKeyStarts_.size());
    for (size_t index = 0; index < filterKeyStarts_.size(); index++) {
        const size_t end = index + 1 < filterKeyStarts_.size() ? filterKeyStarts_[index + 1] : filterKeys_.size();
        keys.emplace_back(filterKeys_.data() + filterKeyStarts_[index], end - filterKeyStarts_[index]);
    }
    bloom_->CreateFilter(keys.data(), static_cast<int>(keys.size()), &filters_);
    filterKeys_.clear();
    filterKeyStarts_.clear();
}

Status TableFileBuilder::finish() {
    flushDataBlock();
    if (!status_.ok()) return status_;
    BlockHandle filterHandle;
    if (bloom_) {
        if (!filterKeyStarts_.empty()) generateFilter();
        std::string block = filters_;
        for (uint32_t offset : filterOffsets_) putFixed(&block, offset, 4);
        putFixed(&block, filters_.size(), 4);
        block.push_back(static_cast<char>(kFilterBaseLg));
        filterHandle = appendBlock(block.data(), block.size());
    }

    TableBytes meta;
    BlockAssembler metaIndex(&meta, 16);
    if (bloom_) {
        std::string handle;
        filterHandle.encodeTo(&handle);
        metaIndex.add(std::string("filter.") + bloom_->Name(), handle);
    }
    metaIndex.finish();
    const BlockHandle metaIndexHandle = appendBlock(meta.data(), meta.size());

    if (pendingIndexEntry_) {
        std::string handle;
        pendingHandle_.encodeTo(&handle);
        index_.add(lastKey_, handle);
        pendingIndexEntry_ = false;
    }
    index_.finish();
    const BlockHandle indexHandle = appendBlock(indexBuffer_.data(), indexBuffer_.size());

    std::string footer;
    metaIndexHandle.encodeTo(&footer);
    indexHandle.encodeTo(&footer);
    footer.resize(kFooterHandlesSize);
    putFixed(&footer, kTableMagicNumber, 8);
    output_.append(footer.data(), footer.size());
    offset_ += footer.size();

    status_ = writeOutput(true);
    // Start the writeback now; the writer syncs every table when it has finished them all.
    if (status_.ok() && sync_file_range(descriptor_, 0, 0, SYNC_FILE_RANGE_WRITE) != 0 && errno != ENOSYS) {
        status_ = Status::IOError(name_, strerror(errno));
    }
    // The file stays open until every table is synced; its buffers are not needed again.
    TableBytes().swap(output_);
    TableBytes().swap(indexBuffer_);
    std::vector<uint32_t>(1, 0).swap(index_.restarts);  // one an index entry: 64 KB for a 64 MB table
    std::string().swap(filters_);
    std::vector<uint32_t>().swap(filterOffsets_);
    return status_;
}

Status TableFileBuilder::syncAndClose() {
    if (status_.ok() && fdatasync(descriptor_) != 0) status_ = Status::IOError(name_, strerror(errno));
    close(descriptor_);
    descriptor_ = -1;
    return status_;
}

Status TableFileBuilder::writeOutput(bool last) {
    if (direct_ && reinterpret_cast<uintptr_t>(output_.data()) % kDirectAlignment != 0 && !stopDirect()) {
        return Status::IOError(name_, strerror(errno));
    }
    size_t count = output_.size();
    if (direct_) {
        // Whole pages past the cache; the rest waits for the next piece, or ends the table through the cache.
        const size_t pages = count - count % kDirectAlignment;
        Status status = writeAll(output_.data(), pages);
        if (!status.ok()) return status;
        if (!last) {
            output_.erase(0, pages);
            return Status::OK();
        }
        if (pages < count && direct_ && !stopDirect()) return Status::IOError(name_, strerror(errno));
        status = writeAll(output_.data() + pages, count - pages);
        if (!status.ok()) return status;
    } else {
        Status status = writeAll(output_.data(), count);
        if (!status.ok()) return status;
    }
    output_.clear();
    return Status::OK();
}

Status TableFileBuilder::writeAll(const char *data, size_t count) {
    while (count > 0) {
        ssize_t written = write(descriptor_, data, count);
        if (written < 0 && errno == EINTR) continue;
        if (written < 0 && errno == EINVAL && direct_) {
            // The file system does not take this write past the cache (or not at this alignment).
            if (!stopDirect()) return Status::IOError(name_, strerror(errno));
            continue;
        }
        if (written <= 0) return Status::IOError(name_, strerror(written < 0 ? errno : EIO));
        data += written;
        count -= static_cast<size_t>(written);
    }
    return Status::OK();
}

bool TableFileBuilder::stopDirect() {
    const int flags = fcntl(descriptor_, F_GETFL);
    if (flags < 0 || fcntl(descriptor_, F_SETFL, flags & ~O_DIRECT) != 0) return false;
    direct_ = false;
    return true;
}

}  // namespace w2v

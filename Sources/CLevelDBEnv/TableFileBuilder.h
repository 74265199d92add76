// One LevelDB table file written from keys in order, for TableFiles.cpp.
#ifndef W2V_TABLE_FILE_BUILDER_H
#define W2V_TABLE_FILE_BUILDER_H

#include <stdint.h>
#include <sys/mman.h>

#include <new>
#include <string>
#include <vector>

#include <leveldb/filter_policy.h>
#include <leveldb/slice.h>
#include <leveldb/status.h>

namespace w2v {

/// What a write that bypasses the page cache (`O_DIRECT`) needs aligned: the buffer's address, its length and the
/// file offset (a page covers every logical block size Linux file systems use).
constexpr size_t kDirectAlignment = 4096;

/// Allocates whole pages of their own (`mmap`), so that a string's bytes can be written with `O_DIRECT` and go back
/// to the system when freed: a 3M-word build makes and frees 70 tables' megabyte buffers, and page-aligned blocks
/// from malloc left its peak RSS 30-40 MB higher.
template <typename T>
struct DirectAlignedAllocator {
    using value_type = T;
    DirectAlignedAllocator() = default;
    template <typename U>
    DirectAlignedAllocator(const DirectAlignedAllocator<U> &) {}
    T *allocate(size_t count) {
        void *pointer = mmap(nullptr, count * sizeof(T), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (pointer == MAP_FAILED) throw std::bad_alloc();
        return static_cast<T *>(pointer);
    }
    void deallocate(T *pointer, size_t count) { munmap(pointer, count * sizeof(T)); }
    template <typename U>
    bool operator==(const DirectAlignedAllocator<U> &) const { return true; }
    template <typename U>
    bool operator!=(const DirectAlignedAllocator<U> &) const { return false; }
};

/// Bytes on their way into a table file.
using TableBytes = std::basic_string<char, std::char_traits<char>, DirectAlignedAllocator<char>>;

/// Writes one table in LevelDB's table format, byte for byte what LevelDB's `TableBuilder` writes with no
/// compression, a comparator that never shortens keys and a restart point every 16 keys (LevelDB 1.x:
/// table/block_builder.cc, table/filter_block.cc, table/table_builder.cc, table/format.cc).
///
/// Unlike LevelDB's builder it assembles each block where the file's next 1 MB piece is gathered (one copy of a value
/// instead of two), checksums it with the CPU's CRC-32C instruction, and starts writing the file back at `finish`
/// without waiting for it (``syncAndClose`` waits). Owns the file descriptor it is given.
///
/// Given a descriptor opened with `O_DIRECT`, it writes the table past the page cache, in whole pages but its last
/// one (written through the cache, so the file ends where the table does). A build writes its search index's chunks
/// so: nothing reads them before they are synced, and they come while the build's spill takes new pages, which on
/// the virtual machines measured cost 7-11 s of system time for 4 GB written through the cache against 0.2-0.3 s
/// direct. A file system that refuses such a write (`EINVAL`) gets the rest through the cache.
class TableFileBuilder {
  public:
    /// - Parameters:
    ///   - direct: whether `descriptor` was opened with `O_DIRECT`.
    ///   - bloom: the filter policy over user keys (LevelDB's bloom filter), or null for no filter block.
    TableFileBuilder(
        int descriptor, bool direct, std::string name, size_t blockSize, const leveldb::FilterPolicy *bloom);
    ~TableFileBuilder();
    TableFileBuilder(const TableFileBuilder &) = delete;
    TableFileBuilder &operator=(const TableFileBuilder &) = delete;

    /// Adds an entry; `internalKey` is the user key and its 8-byte tag, greater than the key added before it.
    leveldb::Status add(const leveldb::Slice &internalKey, const leveldb::Slice &value);
    /// The bytes of the blocks finished so far, written or not: what the table would be without its last block.
    uint64_t fileSize() const { return offset_; }
    /// Writes the last block, the filter, the index and the footer, and starts their writeback.
    leveldb::Status finish();
    /// Waits until the file is on disk, and closes it.
    leveldb::Status syncAndClose();

  private:
    /// A block's place in the file, as a table's index and footer name it.
    struct BlockHandle {
        uint64_t offset = 0;
        uint64_t size = 0;
        void encodeTo(std::string *out) const;
    };

    /// Entries of one block, prefix-compressed between restart points, assembled at the end of a buffer.
    struct BlockAssembler {
        BlockAssembler(TableBytes *buffer, int restartInterval) : buffer(buffer), restartInterval(restartInterval) {}
        void add(const leveldb::Slice &key, const leveldb::Slice &value);
        /// The block's size once its restart points are appended.
        size_t sizeEstimate() const { return buffer->size() - start + 4 * restarts.size() + 4; }
        /// Appends the restart points: the block is `buffer[start...]`.
        void finish();
        /// Begins the next block at the buffer's `start`.
        void reset(size_t start);

        TableBytes *buffer;
        int restartInterval;
        size_t start = 0;
        std::vector<uint32_t> restarts{0};
        int counter = 0;
        std::string lastKey;
        bool empty = true;
    };

    /// Ends the data block being assembled.
    void flushDataBlock();
    /// Adds the trailer of the block `output_[start...]` (its type and checksum) and returns its handle.
    BlockHandle sealBlock(size_t start);
    /// Appends a whole block's contents to `output_` and seals it.
    BlockHandle appendBlock(const char *contents, size_t size);
    /// Makes the filters of the data before `blockOffset` (one per 2 KB of the file, as LevelDB's filter block).
    void startFilters(uint64_t blockOffset);
    void generateFilter();
    /// Writes what `output_` holds; unless it is the table's `last` piece, a direct write leaves the bytes past the
    /// last whole page in `output_`, at its start, for the next.
    leveldb::Status writeOutput(bool last);
    /// Writes `count` bytes at the end of the file.
    leveldb::Status writeAll(const char *data, size_t count);
    /// Goes on through the page cache; false when the descriptor's flags cannot be changed.
    bool stopDirect();

    int descriptor_;
    bool direct_;
    std::string name_;
    size_t blockSize_;
    const leveldb::FilterPolicy *bloom_;
    /// Bytes not yet written to the file: finished blocks, then the data block being assembled.
    TableBytes output_;
    uint64_t offset_ = 0;
    BlockAssembler data_{&output_, 16};
    std::string lastKey_;
    bool pendingIndexEntry_ = false;
    BlockHandle pendingHandle_;
    TableBytes indexBuffer_;
    BlockAssembler index_{&indexBuffer_, 1};
    // The filter block: the user keys since the last filter, and the filters made so far.
    std::string filterKeys_;
    std::vector<size_t> filterKeyStarts_;
    std::string filters_;
    std::vector<uint32_t> filterOffsets_;
    leveldb::Status status_;
};

}  // namespace w2v

#endif

// A LevelDB table file written in large pieces (see BufferedTableFile), for the tables OverlayEnv.cpp writes.
#ifndef W2V_BUFFERED_TABLE_FILE_H
#define W2V_BUFFERED_TABLE_FILE_H

#include <string>

#include <leveldb/env.h>
#include <leveldb/slice.h>
#include <leveldb/status.h>

namespace w2v {

/// A table file written in 1 MB pieces. LevelDB's table builder flushes its file after each block (4 KB here: a
/// `write` call each, 75,000 for a 300,000-word build), yet a table is read only after it is closed; so `Flush` keeps
/// the bytes, and `Sync` and `Close` write them out first. Owns the file it wraps.
class BufferedTableFile final : public leveldb::WritableFile {
  public:
    explicit BufferedTableFile(leveldb::WritableFile *file) : file_(file) { buffer_.reserve(kCapacity); }
    ~BufferedTableFile() override { delete file_; }

    leveldb::Status Append(const leveldb::Slice &data) override {
        if (buffer_.size() + data.size() > kCapacity) {
            leveldb::Status status = writeOut();
            if (!status.ok()) return status;
            if (data.size() >= kCapacity) return file_->Append(data);
        }
        buffer_.append(data.data(), data.size());
        return leveldb::Status::OK();
    }
    leveldb::Status Flush() override { return leveldb::Status::OK(); }
    leveldb::Status Sync() override {
        leveldb::Status status = writeOut();
        return status.ok() ? file_->Sync() : status;
    }
    leveldb::Status Close() override {
        leveldb::Status status = writeOut();
        leveldb::Status closed = file_->Close();
        return status.ok() ? closed : status;
    }

  private:
    static constexpr size_t kCapacity = 1 << 20;

    leveldb::Status writeOut() {
        if (buffer_.empty()) return leveldb::Status::OK();
        leveldb::Status status = file_->Append(leveldb::Slice(buffer_));
        if (status.ok()) status = file_->Flush();
        buffer_.clear();
        return status;
    }

    leveldb::WritableFile *file_;
    std::string buffer_;
};

}  // namespace w2v

#endif

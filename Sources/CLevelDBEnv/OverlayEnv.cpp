// LevelDB environments: one that reads the database directory and keeps everything LevelDB would write in memory,
// one that writes no log, and the base of both, whose table files are never mapped by LevelDB itself (a file cut short
// under it would end the process) and check their blocks. See include/CLevelDBEnv.h.

#include "CLevelDBEnv.h"
#include "BufferedTableFile.h"
#include "CheckedTableFile.h"
#include "MappedTableFile.h"
#include "PreadTableFile.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdarg>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <leveldb/env.h>
#include <leveldb/slice.h>
#include <leveldb/status.h>

// The C API's handle of an Env, as LevelDB's db/c.cc defines it (unchanged since LevelDB 1.2):
// `leveldb_options_set_env` reads `rep`, which is how a C caller passes an Env of its own.
struct leveldb_env_t {
    leveldb::Env *rep;
    bool is_default;
};

namespace {

using leveldb::Slice;
using leveldb::Status;

/// The bytes of one file LevelDB wrote, shared by the readers and the writer that have it open.
struct MemoryFile {
    std::mutex mutex;
    std::string data;
};
using MemoryFilePointer = std::shared_ptr<MemoryFile>;

class MemorySequentialFile final : public leveldb::SequentialFile {
  public:
    explicit MemorySequentialFile(MemoryFilePointer file) : file_(std::move(file)) {}

    Status Read(size_t n, Slice *result, char *scratch) override {
        std::lock_guard<std::mutex> guard(file_->mutex);
        size_t available = position_ < file_->data.size() ? file_->data.size() - position_ : 0;
        size_t count = std::min(n, available);
        if (count > 0) memcpy(scratch, file_->data.data() + position_, count);
        position_ += count;
        *result = Slice(scratch, count);
        return Status::OK();
    }

    Status Skip(uint64_t n) override {
        std::lock_guard<std::mutex> guard(file_->mutex);
        position_ = static_cast<size_t>(std::min<uint64_t>(file_->data.size(), position_ + n));
        return Status::OK();
    }

  private:
    MemoryFilePointer file_;
    size_t position_ = 0;
};

class MemoryRandomAccessFile final : public leveldb::RandomAccessFile {
  public:
    MemoryRandomAccessFile(MemoryFilePointer file, std::string name) : file_(std::move(file)), name_(std::move(name)) {}

    Status Read(uint64_t offset, size_t n, Slice *result, char *scratch) const override {
        std::lock_guard<std::mutex> guard(file_->mutex);
        if (offset > file_->data.size()) {
            *result = Slice();
            return Status::IOError(name_, "read past the end of a file held in memory");
        }
        size_t count = std::min<size_t>(n, file_->data.size() - static_cast<size_t>(offset));
        if (count > 0) memcpy(scratch, file_->data.data() + offset, count);
        *result = Slice(scratch, count);
        return Status::OK();
    }

  private:
    MemoryFilePointer file_;
    std::string name_;
};

class MemoryWritableFile final : public leveldb::WritableFile {
  public:
    explicit MemoryWritableFile(MemoryFilePointer file) : file_(std::move(file)) {}

    Status Append(const Slice &data) override {
        std::lock_guard<std::mutex> guard(file_->mutex);
        file_->data.append(data.data(), data.size());
        return Status::OK();
    }
    Status Close() override { return Status::OK(); }
    Status Flush() override { return Status::OK(); }
    Status Sync() override { return Status::OK(); }

  private:
    MemoryFilePointer file_;
};

/// LevelDB's info log, discarded: writing it would change the directory.
class NullLogger final : public leveldb::Logger {
  public:
    void Logv(const char *, std::va_list) override {}
};

/// The locks this process's overlay environments hold, by the LOCK file's device and inode: `fcntl` locks never
/// conflict inside one process, so an exclusive opener must also be told about this process's shared ones.
class ProcessLocks {
  public:
    /// Whether this process holds a lock on `key`.
    bool holds(const std::pair<dev_t, ino_t> &key) {
        std::lock_guard<std::mutex> guard(mutex_);
        return holders_.count(key) > 0;
    }

    /// Records a lock; false if it conflicts with one this process holds.
    bool acquire(const std::pair<dev_t, ino_t> &key, bool exclusive) {
        std::lock_guard<std::mutex> guard(mutex_);
        auto found = holders_.find(key);
        if (found == holders_.end()) {
            holders_[key] = exclusive ? -1 : 1;
            return true;
        }
        if (exclusive || found->second < 0) return false;
        found->second += 1;
        return true;
    }

    void release(const std::pair<dev_t, ino_t> &key) {
        std::lock_guard<std::mutex> guard(mutex_);
        auto found = holders_.find(key);
        if (found == holders_.end()) return;
        if (found->second > 1) {
            found->second -= 1;
        } else {
            holders_.erase(found);
        }
    }

  private:
    std::mutex mutex_;
    std::map<std::pair<dev_t, ino_t>, int> holders_;
};

ProcessLocks &processLocks() {
    static ProcessLocks *locks = new ProcessLocks();
    return *locks;
}

/// A held lock: the open LOCK file (closing it releases the `fcntl` lock) and this process's record of it.
class OverlayLock final : public leveldb::FileLock {
  public:
    OverlayLock(int descriptor, std::pair<dev_t, ino_t> key, bool registered)
        : descriptor_(descriptor), key_(key), registered_(registered) {}
    ~OverlayLock() override {
        if (registered_) processLocks().release(key_);
        if (descriptor_ >= 0) close(descriptor_);
    }

  private:
    int descriptor_;
    std::pair<dev_t, ino_t> key_;
    bool registered_;
};

Status lockHeld(const std::string &name) {
    // LevelDB's own words for it, which callers recognize.
    return Status::IOError("lock " + name, "already held by process");
}

Status posixError(const std::string &context, int number) {
    if (number == ENOENT) return Status::NotFound(context, strerror(number));
    return Status::IOError(context, strerror(number));
}

/// LevelDB's own environment, except that the table files it opens to read are `w2v::MappedTableFile`s (with
/// `mapTables`) or `w2v::PreadTableFile`s, never mapped by LevelDB itself (whose mapped files end the process with
/// SIGBUS when they shrink under it), and with `checkBlocks` `w2v::CheckedTableFile`s over those. The base of this
/// file's environments.
class CheckingEnv : public leveldb::EnvWrapper {
  public:
    CheckingEnv(bool checkBlocks, bool mapTables)
        : leveldb::EnvWrapper(leveldb::Env::Default()), checkBlocks_(checkBlocks), mapTables_(mapTables) {}

    Status NewRandomAccessFile(const std::string &name, leveldb::RandomAccessFile **result) override {
        return openReal(name, result);
    }

    /// Whether a page of a mapped table file could not be read (see `w2v::MappedTableFile`).
    bool isDamaged() const { return damaged_.load(std::memory_order_acquire); }

  protected:
    /// Opens the file at `real` to read it: a table mapped where it may be, else with `pread`, checked when blocks
    /// are checked.
    Status openReal(const std::string &real, leveldb::RandomAccessFile **result) {
        if (!w2v::CheckedTableFile::isTable(real)) return target()->NewRandomAccessFile(real, result);
        int descriptor = -1;
        uint64_t size = 0;
        Status status = w2v::openTable(real, &descriptor, &size);
        if (!status.ok()) return status;
        leveldb::RandomAccessFile *file = nullptr;
        if (mapTables_) file = w2v::MappedTableFile::map(descriptor, size, &damaged_, real);
        if (file != nullptr) {
            close(descriptor);
        } else {
            file = new w2v::PreadTableFile(descriptor, real);
        }
        *result = checkBlocks_ ? new w2v::CheckedTableFile(file, real, size) : file;
        return status;
    }

    /// Whether the file LevelDB calls `name` is read through a `w2v::CheckedTableFile`.
    bool checks(const std::string &name) const { return checkBlocks_ && w2v::CheckedTableFile::isTable(name); }

  private:
    bool checkBlocks_;
    bool mapTables_;
    w2v::DamageFlag damaged_{false};
};

class OverlayEnv final : public CheckingEnv {
  public:
    OverlayEnv(w2v_lock_mode mode, bool checkBlocks) : CheckingEnv(checkBlocks, true), mode_(mode) {}

    Status NewSequentialFile(const std::string &name, leveldb::SequentialFile **result) override {
        std::string real;
        if (MemoryFilePointer file = lookup(name, &real)) {
            *result = new MemorySequentialFile(file);
            return Status::OK();
        }
        if (real.empty()) return Status::NotFound(name, "removed");
        return target()->NewSequentialFile(real, result);
    }

    Status NewRandomAccessFile(const std::string &name, leveldb::RandomAccessFile **result) override {
        std::string real;
        if (MemoryFilePointer file = lookup(name, &real)) {
            *result = new MemoryRandomAccessFile(file, name);
            if (checks(name)) {
                std::lock_guard<std::mutex> guard(file->mutex);
                *result = new w2v::CheckedTableFile(*result, name + " (held in memory)", file->data.size());
            }
            return Status::OK();
        }
        if (real.empty()) return Status::NotFound(name, "removed");
        return openReal(real, result);
    }

    Status NewWritableFile(const std::string &name, leveldb::WritableFile **result) override {
        std::lock_guard<std::mutex> guard(mutex_);
        MemoryFilePointer file = std::make_shared<MemoryFile>();
        files_[name] = file;
        aliases_.erase(name);
        hidden_.insert(name);  // a real file of that name is replaced
        *result = new MemoryWritableFile(file);
        return Status::OK();
    }

    Status NewAppendableFile(const std::string &name, leveldb::WritableFile **result) override {
        std::string real;
        MemoryFilePointer file = lookup(name, &real);
        if (!file) {
            file = std::make_shared<MemoryFile>();
            if (!real.empty() && target()->FileExists(real)) {
                Status status = leveldb::ReadFileToString(target(), real, &file->data);
                if (!status.ok()) return status;
            }
            std::lock_guard<std::mutex> guard(mutex_);
            files_[name] = file;
            aliases_.erase(name);
            hidden_.insert(name);
        }
        *result = new MemoryWritableFile(file);
        return Status::OK();
    }

    bool FileExists(const std::string &name) override {
        std::string real;
        if (lookup(name, &real)) return true;
        return !real.empty() && target()->FileExists(real);
    }

    Status GetChildren(const std::string &directory, std::vector<std::string> *result) override {
        std::vector<std::string> real;
        Status status = target()->GetChildren(directory, &real);
        std::lock_guard<std::mutex> guard(mutex_);
        std::set<std::string> names;
        if (status.ok()) {
            for (const std::string &child : real) {
                if (hidden_.count(directory + "/" + child) == 0) names.insert(child);
            }
        }
        const std::string prefix = directory + "/";
        for (const auto &entry : files_) {
            if (entry.first.compare(0, prefix.size(), prefix) == 0) names.insert(entry.first.substr(prefix.size()));
        }
        for (const auto &entry : aliases_) {
            if (entry.first.compare(0, prefix.size(), prefix) == 0) names.insert(entry.first.substr(prefix.size()));
        }
        result->assign(names.begin(), names.end());
        return status.ok() || !names.empty() ? Status::OK() : status;
    }

    Status RemoveFile(const std::string &name) override {
        std::lock_guard<std::mutex> guard(mutex_);
        if (files_.erase(name) > 0 || aliases_.erase(name) > 0) return Status::OK();
        if (hidden_.count(name) > 0 || !target()->FileExists(name)) return Status::NotFound(name, "no such file");
        hidden_.insert(name);
        return Status::OK();
    }

    Status CreateDir(const std::string &) override { return Status::OK(); }
    Status RemoveDir(const std::string &) override { return Status::OK(); }

    Status GetFileSize(const std::string &name, uint64_t *size) override {
        std::string real;
        if (MemoryFilePointer file = lookup(name, &real)) {
            std::lock_guard<std::mutex> guard(file->mutex);
            *size = file->data.size();
            return Status::OK();
        }
        if (real.empty()) return Status::NotFound(name, "removed");
        return target()->GetFileSize(real, size);
    }

    Status RenameFile(const std::string &source, const std::string &destination) override {
        std::lock_guard<std::mutex> guard(mutex_);
        auto file = files_.find(source);
        if (file != files_.end()) {
            MemoryFilePointer moved = file->second;
            files_.erase(file);
            files_[destination] = moved;
            aliases_.erase(destination);
            hidden_.insert(destination);
            return Status::OK();
        }
        auto alias = aliases_.find(source);
        std::string real;
        if (alias != aliases_.end()) {
            real = alias->second;
            aliases_.erase(alias);
        } else if (hidden_.count(source) == 0 && target()->FileExists(source)) {
            real = source;
            hidden_.insert(source);
        } else {
            return Status::NotFound(source, "no such file");
        }
        files_.erase(destination);
        hidden_.insert(destination);
        aliases_[destination] = real;
        return Status::OK();
    }

    Status LockFile(const std::string &name, leveldb::FileLock **lock) override {
        const bool exclusive = mode_ == W2V_LOCK_EXCLUSIVE;
        int descriptor = open(name.c_str(), (exclusive ? O_RDWR | O_CREAT : O_RDONLY) | O_CLOEXEC, 0644);
        if (descriptor < 0 && !exclusive && errno == ENOENT) {
            // A copy without its LOCK file: make one where the directory can be written, so that a writer sees this
            // reader; on a read-only copy nothing can write, and there is nothing to lock.
            descriptor = open(name.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
            if (descriptor < 0 && (errno == EROFS || errno == EACCES || errno == EPERM)) {
                *lock = new OverlayLock(-1, {0, 0}, false);
                return Status::OK();
            }
        }
        if (descriptor < 0) return posixError("lock " + name, errno);
        struct stat information;
        if (fstat(descriptor, &information) != 0) {
            int number = errno;
            close(descriptor);
            return posixError("lock " + name, number);
        }
        std::pair<dev_t, ino_t> key(information.st_dev, information.st_ino);
        if (!processLocks().acquire(key, exclusive)) {
            close(descriptor);
            return lockHeld(name);
        }
        struct flock request;
        memset(&request, 0, sizeof(request));
        request.l_type = exclusive ? F_WRLCK : F_RDLCK;
        request.l_whence = SEEK_SET;
        if (fcntl(descriptor, F_SETLK, &request) != 0) {
            int number = errno;
            // A filesystem without locks (some NFS mounts) cannot keep a writer out; read anyway.
            if (number != ENOLCK || exclusive) {
                processLocks().release(key);
                close(descriptor);
                return number == EAGAIN || number == EACCES ? lockHeld(name) : posixError("lock " + name, number);
            }
        }
        *lock = new OverlayLock(descriptor, key, true);
        return Status::OK();
    }

    Status UnlockFile(leveldb::FileLock *lock) override {
        delete lock;
        return Status::OK();
    }

    Status NewLogger(const std::string &, leveldb::Logger **result) override {
        *result = new NullLogger();
        return Status::OK();
    }

    unsigned long long memoryBytes() {
        std::lock_guard<std::mutex> guard(mutex_);
        unsigned long long total = 0;
        for (const auto &entry : files_) {
            std::lock_guard<std::mutex> fileGuard(entry.second->mutex);
            total += entry.second->data.size();
        }
        return total;
    }

  private:
    /// The memory file named `name`, or null with `real` set to the real file to read (empty when the name was
    /// removed).
    MemoryFilePointer lookup(const std::string &name, std::string *real) {
        std::lock_guard<std::mutex> guard(mutex_);
        auto file = files_.find(name);
        if (file != files_.end()) return file->second;
        auto alias = aliases_.find(name);
        if (alias != aliases_.end()) {
            *real = alias->second;
        } else if (hidden_.count(name) == 0) {
            *real = name;
        } else {
            real->clear();
        }
        return nullptr;
    }

    const w2v_lock_mode mode_;
    std::mutex mutex_;
    /// Files written through this environment.
    std::map<std::string, MemoryFilePointer> files_;
    /// Real files renamed to another name: the name, and the real file it reads.
    std::map<std::string, std::string> aliases_;
    /// Real files removed, renamed away or replaced: no longer visible.
    std::set<std::string> hidden_;
};

}  // namespace

namespace {

leveldb_env_t *handle(leveldb::Env *rep) {
    leveldb_env_t *env = new leveldb_env_t;
    env->rep = rep;
    env->is_default = false;
    return env;
}

}  // namespace

extern "C" leveldb_env_t *w2v_overlay_env_create(w2v_lock_mode mode, int check_blocks) {
    return handle(new OverlayEnv(mode, check_blocks != 0));
}

extern "C" leveldb_env_t *w2v_table_env_create(int check_blocks) {
    return handle(new CheckingEnv(check_blocks != 0, false));
}

extern "C" int w2v_env_is_damaged(leveldb_env_t *env) {
    return static_cast<CheckingEnv *>(env->rep)->isDamaged() ? 1 : 0;
}

extern "C" void w2v_env_destroy(leveldb_env_t *env) {
    delete env->rep;
    delete env;
}

extern "C" unsigned long long w2v_overlay_env_memory_bytes(leveldb_env_t *env) {
    return static_cast<OverlayEnv *>(env->rep)->memoryBytes();
}

extern "C" int w2v_lock_is_held(const char *lock_path) {
    int descriptor = open(lock_path, O_RDONLY | O_CLOEXEC);
    if (descriptor < 0) return errno == ENOENT ? 0 : -1;
    struct stat information;
    if (fstat(descriptor, &information) == 0 && processLocks().holds({information.st_dev, information.st_ino})) {
        close(descriptor);
        return 1;
    }
    struct flock request;
    memset(&request, 0, sizeof(request));
    request.l_type = F_WRLCK;
    request.l_whence = SEEK_SET;
    int result = fcntl(descriptor, F_GETLK, &request);
    int number = errno;
    close(descriptor);
    if (result != 0) {
        errno = number;
        return -1;
    }
    return request.l_type == F_UNLCK ? 0 : 1;
}

namespace {

/// A write-ahead log that is never written: its file exists, empty, so that LevelDB can list, rename and remove it.
class DiscardedLogFile final : public leveldb::WritableFile {
  public:
    Status Append(const Slice &) override { return Status::OK(); }
    Status Close() override { return Status::OK(); }
    Status Flush() override { return Status::OK(); }
    Status Sync() override { return Status::OK(); }
};

/// LevelDB's own environment, but for the write-ahead logs (`NNNNNN.log`), which it only creates, and the tables
/// (`NNNNNN.ldb`), which it writes in 1 MB pieces.
class UnloggedEnv final : public CheckingEnv {
  public:
    explicit UnloggedEnv(bool checkBlocks) : CheckingEnv(checkBlocks, false) {}

    Status NewWritableFile(const std::string &name, leveldb::WritableFile **result) override {
        if (hasSuffix(name, ".ldb")) {
            leveldb::WritableFile *file = nullptr;
            Status status = target()->NewWritableFile(name, &file);
            if (status.ok()) *result = new w2v::BufferedTableFile(file);
            return status;
        }
        if (!hasSuffix(name, ".log")) return target()->NewWritableFile(name, result);
        int descriptor = open(name.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (descriptor < 0) return Status::IOError(name, strerror(errno));
        close(descriptor);
        *result = new DiscardedLogFile();
        return Status::OK();
    }

    Status NewAppendableFile(const std::string &name, leveldb::WritableFile **result) override {
        if (!hasSuffix(name, ".log")) return target()->NewAppendableFile(name, result);
        return NewWritableFile(name, result);
    }

  private:
    static bool hasSuffix(const std::string &name, const char *suffix) {
        const size_t length = strlen(suffix);
        return name.size() > length && name.compare(name.size() - length, length, suffix) == 0;
    }
};

}  // namespace

extern "C" leveldb_env_t *w2v_unlogged_env_create(int check_blocks) {
    return handle(new UnloggedEnv(check_blocks != 0));
}

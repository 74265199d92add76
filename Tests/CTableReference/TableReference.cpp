// LevelDB's own table builder, for the tests of the table writer (see include/CTableReference.h).

#include "CTableReference.h"

#include <string.h>

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

constexpr size_t kTagSize = 8;

/// LevelDB's internal key order (user keys bytewise, then newer sequence first) without its key shortening.
class InternalKeyOrder final : public leveldb::Comparator {
  public:
    int Compare(const Slice &a, const Slice &b) const override {
        int order = Slice(a.data(), a.size() - kTagSize).compare(Slice(b.data(), b.size() - kTagSize));
        if (order != 0) return order;
        uint64_t x = tag(a), y = tag(b);
        return x > y ? -1 : (x < y ? 1 : 0);
    }
    const char *Name() const override { return "leveldb.InternalKeyComparator"; }
    void FindShortestSeparator(std::string *, const Slice &) const override {}
    void FindShortSuccessor(std::string *) const override {}

  private:
    static uint64_t tag(const Slice &key) {
        uint64_t value = 0;
        for (int index = 7; index >= 0; index--) {
            value = (value << 8) | static_cast<unsigned char>(key.data()[key.size() - kTagSize + index]);
        }
        return value;
    }
};

/// The bloom filter over user keys that a database's tables hold (LevelDB's `InternalFilterPolicy`).
class UserKeyFilter final : public leveldb::FilterPolicy {
  public:
    explicit UserKeyFilter(int bitsPerKey) : user_(leveldb::NewBloomFilterPolicy(bitsPerKey)) {}
    const char *Name() const override { return user_->Name(); }
    void CreateFilter(const Slice *keys, int count, std::string *out) const override {
        std::vector<Slice> userKeys;
        for (int index = 0; index < count; index++) {
            userKeys.emplace_back(keys[index].data(), keys[index].size() - kTagSize);
        }
        user_->CreateFilter(userKeys.data(), count, out);
    }
    bool KeyMayMatch(const Slice &key, const Slice &filter) const override {
        return user_->KeyMayMatch(Slice(key.data(), key.size() - kTagSize), filter);
    }

  private:
    std::unique_ptr<const leveldb::FilterPolicy> user_;
};

int fail(char **error, const leveldb::Status &status) {
    if (error) *error = strdup(status.ToString().c_str());
    return 0;
}

}  // namespace

extern "C" int w2v_reference_table(
    const char *path, const char *const *keys, const size_t *key_lengths, const char *const *values,
    const size_t *value_lengths, size_t count, size_t block_size, int bloom_bits_per_key, char **error) {
    InternalKeyOrder order;
    std::unique_ptr<UserKeyFilter> filter(bloom_bits_per_key > 0 ? new UserKeyFilter(bloom_bits_per_key) : nullptr);
    leveldb::Options options;
    options.comparator = &order;
    options.filter_policy = filter.get();
    options.block_size = block_size;
    options.compression = leveldb::kNoCompression;
    leveldb::WritableFile *opened = nullptr;
    leveldb::Status status = leveldb::Env::Default()->NewWritableFile(path, &opened);
    if (!status.ok()) return fail(error, status);
    std::unique_ptr<leveldb::WritableFile> file(opened);
    leveldb::TableBuilder builder(options, file.get());
    std::string key;
    for (size_t index = 0; index < count; index++) {
        key.assign(keys[index], key_lengths[index]);
        const uint64_t tag = 1;  // sequence 0, a value
        for (int byte = 0; byte < 8; byte++) key.push_back(static_cast<char>(tag >> (8 * byte)));
        builder.Add(key, Slice(values[index], value_lengths[index]));
    }
    status = builder.Finish();
    if (status.ok()) status = file->Close();
    return status.ok() ? 1 : fail(error, status);
}

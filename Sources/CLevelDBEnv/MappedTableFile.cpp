// Table files mapped into memory, and the SIGBUS handler that keeps a fault in one from ending the process. See
// MappedTableFile.h.
#include "MappedTableFile.h"

#include "PreadTableFile.h"

#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <mutex>

namespace {

/// One mapped table file, as the handler sees it: `start` is 0 in a free slot, and set last (`end` and `damaged`
/// before it), so that the handler, which takes no lock, never sees a slot half filled.
struct Slot {
    std::atomic<uintptr_t> start{0};
    std::atomic<uintptr_t> end{0};
    std::atomic<w2v::DamageFlag *> damaged{nullptr};
};

Slot slots[w2v::MappedTableFile::kMaximumMapped];
std::mutex slotsMutex;  // taken to fill or free a slot, never by the handler
struct sigaction previousAction;
uintptr_t pageSize = 4096;

/// A SIGBUS at an address in a mapped table file: raises its environment's flag, then maps a page of zeros over the
/// page that faulted, and returns, so that the faulting read goes on with zeros (which the flag says not to trust).
/// Any other SIGBUS (another fault, or one sent by a process: `kill -BUS`) goes to the handler installed before this
/// one, or is what it would have been without this one: the end of the process, or ignored.
void onBusError(int number, siginfo_t *information, void *context) {
    // Only the kernel's own (a positive code) carries a faulting address; a sent one holds a process id there.
    auto address = information->si_code > 0 ? reinterpret_cast<uintptr_t>(information->si_addr) : 0;
    for (Slot &slot : slots) {
        uintptr_t start = slot.start.load(std::memory_order_acquire);
        if (start == 0 || address < start || address >= slot.end.load(std::memory_order_relaxed)) continue;
        slot.damaged.load(std::memory_order_relaxed)->store(true, std::memory_order_seq_cst);
        void *page = reinterpret_cast<void *>(address & ~(pageSize - 1));
        if (mmap(page, pageSize, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != MAP_FAILED) return;
        break;
    }
    if (previousAction.sa_flags & SA_SIGINFO) {
        previousAction.sa_sigaction(number, information, context);
    } else if (previousAction.sa_handler == SIG_IGN && information->si_code <= 0) {
        // Sent by a process and ignored before: still ignored.
    } else if (previousAction.sa_handler == SIG_DFL || previousAction.sa_handler == SIG_IGN) {
        // The default action ends the process: blocked in this handler, the signal raised here is delivered as it
        // returns (a fault would also come again as the faulting instruction runs again; the kernel does not let a
        // fault be ignored).
        signal(SIGBUS, SIG_DFL);
        raise(SIGBUS);
    } else {
        previousAction.sa_handler(number);
    }
}

void installHandler() {
    pageSize = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
    struct sigaction action;
    memset(&action, 0, sizeof(action));
    action.sa_sigaction = onBusError;
    action.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&action.sa_mask);
    sigaction(SIGBUS, &action, &previousAction);
}

}  // namespace

namespace w2v {

MappedTableFile *MappedTableFile::map(int descriptor, uint64_t size, DamageFlag *damaged, const std::string &name) {
    static std::once_flag installed;
    std::call_once(installed, installHandler);
    if (size == 0) return nullptr;
    std::lock_guard<std::mutex> guard(slotsMutex);
    size_t free = 0;
    while (free < kMaximumMapped && slots[free].start.load(std::memory_order_relaxed) != 0) free += 1;
    if (free == kMaximumMapped) return nullptr;
    void *base = mmap(nullptr, size, PROT_READ, MAP_SHARED, descriptor, 0);
    if (base == MAP_FAILED) return nullptr;
    uintptr_t start = reinterpret_cast<uintptr_t>(base);
    slots[free].end.store(start + ((size + pageSize - 1) & ~(pageSize - 1)), std::memory_order_relaxed);
    slots[free].damaged.store(damaged, std::memory_order_relaxed);
    slots[free].start.store(start, std::memory_order_release);
    return new MappedTableFile(static_cast<const char *>(base), size, free, damaged, name);
}

MappedTableFile::~MappedTableFile() {
    {
        std::lock_guard<std::mutex> guard(slotsMutex);
        slots[slot_].start.store(0, std::memory_order_release);
    }
    munmap(const_cast<char *>(base_), length_);
}

leveldb::Status MappedTableFile::Read(uint64_t offset, size_t n, leveldb::Slice *result, char *) const {
    if (damaged_->load(std::memory_order_acquire)) {
        *result = leveldb::Slice();
        return leveldb::Status::Corruption(name_, "a page of a table file of this database could not be read");
    }
    if (offset > length_ || n > length_ - offset) {
        *result = leveldb::Slice();
        return cutShort(name_, length_, offset, n);
    }
    *result = leveldb::Slice(base_ + offset, n);
    return leveldb::Status::OK();
}

}  // namespace w2v

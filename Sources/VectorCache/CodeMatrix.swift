#if canImport(Glibc)
import Glibc
#endif

/// The search index's int8 codes, in one block of memory that asks Linux for 2 MB pages (`MADV_HUGEPAGE`): a
/// nearest-word query reads all of it, and large pages spare the TLB a miss every 4 KB (about 10% of the query's
/// time on GoogleNews). Written once while the index loads, then only read, from any thread.
public final class CodeMatrix: @unchecked Sendable {
    // `@unchecked Sendable`: the bytes are written by `SearchIndex` loading, before the matrix is shared.
    public let count: Int
    private let base: UnsafeMutableRawPointer
    private let mappedBytes: Int

    init(count: Int) {
        self.count = count
        let huge = 2 << 20
        mappedBytes = max(huge, (count + huge - 1) / huge * huge)
        let mapped = mmap(nil, mappedBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
        guard let mapped, mapped != MAP_FAILED else {
            fatalError("cannot map \(mappedBytes) bytes for the search index's codes (errno \(errno))")
        }
        // Advice only: without transparent huge pages the memory works as usual.
        _ = madvise(mapped, mappedBytes, MADV_HUGEPAGE)
        base = mapped
    }

    deinit {
        munmap(base, mappedBytes)
    }

    public subscript(index: Int) -> Int8 {
        precondition(index >= 0 && index < count, "code \(index) outside 0..<\(count)")
        return base.load(fromByteOffset: index, as: Int8.self)
    }

    /// Lends the codes to `body`.
    public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Int8>) throws -> R) rethrows -> R {
        try body(UnsafeBufferPointer(start: base.assumingMemoryBound(to: Int8.self), count: count))
    }

    /// Copies `bytes` in at `offset`.
    func copy(_ bytes: UnsafeRawBufferPointer, to offset: Int) {
        precondition(offset >= 0 && offset + bytes.count <= count)
        guard let source = bytes.baseAddress else { return }
        (base + offset).copyMemory(from: source, byteCount: bytes.count)
    }
}

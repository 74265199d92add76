import VectorCache

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

    /// Maps room for `count` codes.
    /// - throws: ``CacheError/Kind/unavailable`` when the memory cannot be had now (a memory-tight host): a server
    ///   answers 503 and goes on serving everything else.
    init(count: Int) throws {
        precondition(count >= 0, "a negative code count")
        self.count = count
        let huge = 2 << 20
        mappedBytes = max(huge, count / huge * huge + (count % huge == 0 ? 0 : huge))
        let mapped = mmap(nil, mappedBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
        guard let mapped, mapped != MAP_FAILED else {
            throw CacheError(
                .unavailable,
                "cannot map \(mappedBytes) bytes of memory for the search index's codes "
                    + "(\(String(cString: strerror(errno)))); free memory and try again"
            )
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
        // Callers check each chunk's size against the header first.
        precondition(offset >= 0 && offset + bytes.count <= count)
        guard let source = bytes.baseAddress else { return }
        (base + offset).copyMemory(from: source, byteCount: bytes.count)
    }
}

extension Array where Element: BitwiseCopyable {
    /// An array of `count` elements, all written by `fill` in place (no zeroing first, no copy).
    ///
    /// Unlike `init(unsafeUninitializedCapacity:initializingWith:)`, a `count` of 0 makes `[]` (after calling `fill`
    /// with an empty buffer, so that what it checks is still checked): for 0, the standard library writes the count
    /// into the runtime's one shared empty-array storage, a write ThreadSanitizer reports as a data race with any
    /// thread reading an empty array.
    public static func filled(count: Int, by fill: (UnsafeMutableBufferPointer<Element>) throws -> Void) rethrows
        -> [Element]
    {
        guard count > 0 else {
            try fill(UnsafeMutableBufferPointer(start: nil, count: 0))
            return []
        }
        return try [Element](unsafeUninitializedCapacity: count) { buffer, initialized in
            try fill(buffer)
            initialized = count
        }
    }
}

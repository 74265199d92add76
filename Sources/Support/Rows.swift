/// Rows of equal length laid one after another from a buffer's start (vectors, n-gram rows, answer rows).
extension UnsafeMutableRawBufferPointer {
    /// Row `index` of rows of `rowBytes` bytes each; the row must lie within the buffer.
    @inlinable
    public func row(_ index: Int, bytes rowBytes: Int) -> UnsafeMutableRawBufferPointer {
        UnsafeMutableRawBufferPointer(rebasing: self[(index * rowBytes)..<((index + 1) * rowBytes)])
    }
}

extension UnsafeRawBufferPointer {
    /// Row `index` of rows of `rowBytes` bytes each; the row must lie within the buffer.
    @inlinable
    public func row(_ index: Int, bytes rowBytes: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: self[(index * rowBytes)..<((index + 1) * rowBytes)])
    }
}

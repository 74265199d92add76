/// The element types of the arrays w2vcache stores and sends, little-endian.
public enum ElementType: String, Sendable, Codable, CaseIterable {
    case float32, int32, int64

    /// Bytes per element.
    public var byteCount: Int { self == .int64 ? 8 : 4 }

    /// NumPy's name for it (`descr` in `.npy` headers, `dtype` in raw batch headers).
    public var numpyDescriptor: String {
        switch self {
        case .float32: "<f4"
        case .int32: "<i4"
        case .int64: "<i8"
        }
    }
}

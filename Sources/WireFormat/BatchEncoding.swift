import Datasets
import NumPyFormat

/// How batches travel to trainers: the server sends them and `w2vcache batches --format npz` writes them, byte for
/// byte the same.
public enum BatchEncoding {
    /// A batch as `.npz`: one `.npy` member per array, named as the array.
    public static func npz(_ arrays: [BatchArray]) -> [UInt8] {
        NPZ.archive(arrays.map { array in
            let type: NPY.ElementType = switch array.type {
            case .float32: .float32
            case .int32: .int32
            case .int64: .int64
            }
            return NPZ.Member(name: array.name, npy: array.bytes.withUnsafeBytes { NPY.file(type: type, shape: array.shape, data: $0) })
        })
    }

    /// One frame of a streamed epoch: the `.npz` size as a little-endian UInt64, then the `.npz`.
    public static func npzFrame(_ arrays: [BatchArray]) -> [UInt8] {
        let archive = npz(arrays)
        var frame = [UInt8]()
        frame.reserveCapacity(8 + archive.count)
        withUnsafeBytes(of: UInt64(archive.count).littleEndian) { frame.append(contentsOf: $0) }
        frame.append(contentsOf: archive)
        return frame
    }

    /// The frame that ends a streamed epoch: a size of 0.
    public static let endFrame = [UInt8](repeating: 0, count: 8)
}

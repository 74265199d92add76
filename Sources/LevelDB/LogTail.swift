import CLevelDBEnv

#if canImport(Glibc)
import Glibc
#endif

/// The check LevelDB does not make of its logs' last blocks.
///
/// The MANIFEST (the log of version edits: which table files the database holds) and the write-ahead logs share one
/// format (LevelDB's `db/log_format.h`): 32 KB blocks of records, each behind a 7-byte header (masked CRC-32C of type
/// and payload, 16-bit length, type). When a record in a log's last, partial block announces more bytes than the file
/// holds, LevelDB takes it for a record a crash cut short: it drops it and every later one without a word. A changed
/// bit in a length does the same. In the MANIFEST, the tables the dropped edits added are then no longer the
/// database's: every key in them reads as missing, and the next writer removes the files; in a write-ahead log, the
/// last writes are lost.
///
/// A record cut short has lost its end, so no prefix of what follows it matches its checksum; a record whose length
/// was damaged is whole, and one prefix does. That record is reported as damage before LevelDB opens the database.
enum LogTail {
    static let blockSize = 32768
    static let headerSize = 7

    /// Throws ``LevelDBError/Kind/corruption`` when the MANIFEST that `CURRENT` names in `directory`, or one of its
    /// write-ahead logs (`NNNNNN.log`), has in its last block a record whose length runs past the end of the file
    /// though the bytes after its header are a whole record. Anything else it leaves for LevelDB to judge (a missing
    /// or unreadable file, a record cut short).
    static func check(directory: String) throws {
        // POSIX reads, not Foundation's: this runs before every open, `lookup`'s among them.
        if var current = read(directory + "/CURRENT", from: 0, limit: 256), current.last == 0x0A {
            current.removeLast()
            let name = String(decoding: current, as: UTF8.self)
            if name.hasPrefix("MANIFEST-") && !current.contains(0x2F) { try checkTail(of: directory + "/" + name) }
        }
        for name in names(in: directory)
        where name.hasSuffix(".log") && name.count > 4 && name.dropLast(4).allSatisfy({ $0.isASCII && $0.isNumber }) {
            try checkTail(of: directory + "/" + name)
        }
    }

    /// The check of one log file.
    static func checkTail(of path: String) throws {
        guard let size = fileSize(path), size % blockSize != 0,
            let block = read(path, from: size - size % blockSize, limit: blockSize)
        else { return }
        let blockStart = size - size % blockSize
        var offset = 0
        while block.count - offset >= headerSize {
            let length = Int(block[offset + 4]) | Int(block[offset + 5]) << 8
            let type = block[offset + 6]
            // Zeros where the file was extended but not written: LevelDB skips the rest of the block.
            if type == 0 && length == 0 { return }
            if headerSize + length <= block.count - offset {
                offset += headerSize + length
                continue
            }
            let stored = block[offset..<(offset + 4)].reversed().reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
            // The payload's checksum covers the type byte, then the payload: try every length up to the end.
            var crc = w2v_crc32c(0, [type], 1, 0)
            var payload = 0
            while mask(crc) != stored {
                let next = offset + headerSize + payload
                guard next < block.count else { return }
                crc = block.withUnsafeBufferPointer { w2v_crc32c(crc, $0.baseAddress! + next, 1, 0) }
                payload += 1
            }
            throw LevelDBError(
                kind: .corruption,
                message: "Corruption: \(path): the record at offset \(blockStart + offset) says "
                    + "\(length) bytes, past the end of the file, but its first \(payload) bytes are the whole record: "
                    + "its length is damaged (LevelDB would drop it and every later record, as if a crash had cut it short)"
            )
        }
    }

    /// The names in `directory` (none when it cannot be read).
    static func names(in directory: String) -> [String] {
        guard let stream = opendir(directory) else { return [] }
        defer { closedir(stream) }
        // An entry is only as long as its name (`d_reclen`), not `dirent`'s 256-byte `d_name`: the name is read where
        // it lies, never by copying the struct, which would read past the last entry of readdir's buffer.
        let nameOffset = MemoryLayout<dirent>.offset(of: \.d_name)!
        var names: [String] = []
        while let entry = readdir(stream) {
            let name = UnsafeRawPointer(entry).advanced(by: nameOffset).assumingMemoryBound(to: CChar.self)
            names.append(String(cString: name))
        }
        return names
    }

    /// The size of the file at `path`, or `nil` when it cannot be looked at.
    static func fileSize(_ path: String) -> Int? {
        var status = stat()
        return stat(path, &status) == 0 ? Int(status.st_size) : nil
    }

    /// Up to `limit` bytes of the file at `path` from `offset`, or `nil` when it cannot be read.
    static func read(_ path: String, from offset: Int, limit: Int) -> [UInt8]? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var bytes = [UInt8](repeating: 0, count: limit)
        var filled = 0
        while filled < limit {
            let count = bytes.withUnsafeMutableBytes {
                pread(descriptor, $0.baseAddress! + filled, limit - filled, off_t(offset + filled))
            }
            if count < 0 && errno == EINTR { continue }
            guard count >= 0 else { return nil }
            if count == 0 { break }
            filled += count
        }
        return Array(bytes.prefix(filled))
    }

    /// A CRC-32C as LevelDB stores it (`crc32c::Mask`).
    static func mask(_ crc: UInt32) -> UInt32 {
        ((crc >> 15) | (crc << 17)) &+ 0xa282_ead8
    }
}

import Support

#if canImport(Glibc)
import Glibc
#endif

/// A directory a command writes files into (`prepare pos --out`), checked before the command changes anything, so
/// that a path it cannot write fails at once with its reason and not after the cache was changed.
struct OutputDirectory {
    /// Why the directory cannot be used or a file in it written: `--out PATH: is a file, not a directory`.
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    let path: String
    /// The flag that named the directory, for messages.
    let flag: String

    /// Checks that `path` is a directory this process may write in, or that its nearest existing ancestor is one
    /// (the missing ones are made by ``write(_:to:)``). Makes nothing.
    init(_ path: String, flag: String) throws(Failure) {
        self.path = path
        self.flag = flag
        guard !path.isEmpty else { throw Failure(description: "\(flag) is empty; expected a directory") }
        var existing = path
        while true {
            var status = stat()
            if stat(existing, &status) == 0 {
                guard status.st_mode & S_IFMT == S_IFDIR else {
                    throw Failure(
                        description: "\(flag) \(path): \(existing == path ? "is" : "\(existing) is") "
                            + "\(RegularFile.kind(of: status.st_mode)), not a directory; nothing was changed")
                }
                guard access(existing, W_OK | X_OK) == 0 else {
                    throw Failure(
                        description:
                            "\(flag) \(path): cannot write in \(existing) (\(String(cString: strerror(errno))))"
                            + "; nothing was changed")
                }
                return
            }
            // Missing, or below a file: the nearest existing ancestor says which.
            guard errno == ENOENT || errno == ENOTDIR else {
                throw Failure(description: "\(flag) \(path): \(String(cString: strerror(errno))); nothing was changed")
            }
            if let slash = existing.lastIndex(of: "/") {
                existing = slash == existing.startIndex ? "/" : String(existing[..<slash])
            } else {
                existing = "."
            }
        }
    }

    /// Checks that no file of `names` in the directory is one of `inputs` (`--train FILE`), which writing it would
    /// replace (a link to an input is not: its name is replaced, not what it leads to). Makes nothing.
    func refuseReplacing(_ inputs: [(flag: String, path: String)], by names: [String]) throws(Failure) {
        for name in names {
            var output = stat()
            guard lstat(path + "/" + name, &output) == 0 else { continue }
            for (flag, input) in inputs {
                var read = stat()
                guard stat(input, &read) == 0, read.st_dev == output.st_dev, read.st_ino == output.st_ino else {
                    continue
                }
                throw Failure(
                    description: "\(self.flag) \(Printable.escape(path)): \(name) there is the \(flag) file, which "
                        + "the processed files would replace; expected another directory; nothing was changed")
            }
        }
    }

    /// Writes `bytes` to the file `name` in the directory (made first, with its missing ancestors), whole or not at
    /// all: beside its place first, then renamed into it.
    func write(_ bytes: [UInt8], to name: String) throws(Failure) {
        try makeDirectories()
        let file = path + "/" + name
        let partial = PartialFile(for: file)
        let descriptor = open(partial.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw failure(writing: file) }
        if let code = writeAll(bytes, to: descriptor) {
            close(descriptor)
            partial.discard()
            throw Failure(description: "cannot write \(file): \(String(cString: strerror(code)))")
        }
        guard close(descriptor) == 0 else {
            let error = failure(writing: file)
            partial.discard()
            throw error
        }
        do {
            try partial.commit()
        } catch {
            throw Failure(description: error.description)
        }
    }

    /// Makes the directory and its missing ancestors.
    private func makeDirectories() throws(Failure) {
        var prefix = path.hasPrefix("/") ? "/" : ""
        for component in path.split(separator: "/") {
            prefix += component
            if mkdir(prefix, 0o755) != 0 && errno != EEXIST {
                throw Failure(
                    description: "\(flag) \(path): cannot make \(prefix) (\(String(cString: strerror(errno))))")
            }
            prefix += "/"
        }
    }

    private func failure(writing file: String) -> Failure {
        Failure(description: "cannot write \(file): \(String(cString: strerror(errno)))")
    }
}

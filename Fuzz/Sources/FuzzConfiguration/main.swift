import FuzzSupport
import Settings

/// Configuration files through the YAML reader (libyaml by way of Yams) and the settings' checks: any input is a
/// configuration or a `ConfigurationError` naming the file, never a trap.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzConfiguration(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let text = String(decoding: FuzzInput.bytes(data, size), as: UTF8.self)
    do {
        _ = try Configuration.parse(text, file: "fuzz.yml")
    } catch let error as ConfigurationError {
        precondition(error.file == "fuzz.yml" && !error.message.isEmpty)
    } catch {
        fatalError("unexpected error type: \(error)")
    }
    return 0
}

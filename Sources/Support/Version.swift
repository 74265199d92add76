/// The tool's version: `w2vcache --version`, manifests, prepared datasets, and the Python packages (a test checks
/// they agree).
public let w2vcacheVersion = "0.4.0"

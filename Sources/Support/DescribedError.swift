/// The shape of this package's errors: a kind that callers branch on, and a message for people that says what went
/// wrong and what to do. Each module has its own error type with its own kinds (``Kind``); the server maps each to
/// an HTTP status in one place.
public protocol DescribedError: Error, CustomStringConvertible, Sendable {
    associatedtype Kind: Sendable & Equatable
    var kind: Kind { get }
    var message: String { get }
}

extension DescribedError {
    public var description: String { message }
}

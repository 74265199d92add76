import Logging
import Support

/// A log handler that escapes control characters in messages and metadata before another handler writes them, so
/// that a request path such as `/v1/vectors/x%0AFORGED` or an ESC byte in a word can never forge a log line or reach
/// the terminal raw.
public struct EscapingLogHandler: LogHandler {
    private var wrapped: any LogHandler

    public init(_ wrapped: any LogHandler) {
        self.wrapped = wrapped
    }

    public var logLevel: Logger.Level {
        get { wrapped.logLevel }
        set { wrapped.logLevel = newValue }
    }

    public var metadata: Logger.Metadata {
        get { wrapped.metadata }
        set { wrapped.metadata = newValue }
    }

    public var metadataProvider: Logger.MetadataProvider? {
        get { wrapped.metadataProvider }
        set { wrapped.metadataProvider = newValue }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { wrapped[metadataKey: key] }
        set { wrapped[metadataKey: key] = newValue }
    }

    public func log(event: LogEvent) {
        var event = event
        event.message = "\(Printable.escape(event.message.description))"
        event.metadata = event.metadata?.mapValues { .string(Printable.escape($0.description)) }
        wrapped.log(event: event)
    }
}

extension Logger {
    /// The server's logger: stderr, control characters escaped, at `level`.
    public static func server(level: Logger.Level) -> Logger {
        var logger = Logger(label: "w2vcache") { label in
            EscapingLogHandler(StreamLogHandler.standardError(label: label))
        }
        logger.logLevel = level
        return logger
    }
}

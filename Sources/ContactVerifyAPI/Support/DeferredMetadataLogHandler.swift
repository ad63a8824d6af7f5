import Logging

/// A log handler that keeps a logger's metadata itself and hands it to `Base` only with a
/// message that is written, as that message's metadata.
///
/// swift-log's `StreamLogHandler` renders its whole metadata to text each time a key is set,
/// and keys are set far more often than lines are written: Hummingbird sets one on every
/// request's logger, the outbox worker four on every message's, and the default `warning` level
/// writes none of their lines. That rendering was 1.5 % of the service's CPU during P2
/// (docs/performance.md, "2026-12-07, afternoon"). `Base`'s own metadata stays empty.
public struct DeferredMetadataLogHandler<Base: LogHandler>: LogHandler {
    private var base: Base
    public var metadata: Logger.Metadata = [:]

    public init(_ base: Base) {
        self.base = base
    }

    public var logLevel: Logger.Level {
        get { base.logLevel }
        set { base.logLevel = newValue }
    }

    public var metadataProvider: Logger.MetadataProvider? {
        get { base.metadataProvider }
        set { base.metadataProvider = newValue }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    /// Writes through `Base` with this logger's metadata, the message's own taking precedence.
    public func log(event: LogEvent) {
        var event = event
        if let explicit = event.metadata {
            event.metadata = metadata.merging(explicit) { _, explicit in explicit }
        } else {
            event.metadata = metadata
        }
        base.log(event: event)
    }
}

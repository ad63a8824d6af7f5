import ContactVerifyAPI
import Logging
import Synchronization
import Testing

/// The service's log handler: a logger's metadata reaches the writing handler only with a line
/// that is written, so setting keys costs no rendering.
@Suite("Log handler: metadata deferred to the written line")
struct DeferredMetadataLogHandlerTests {
    /// What the wrapped handler saw.
    final class Seen: Sendable {
        let lines = Mutex<[(message: String, metadata: Logger.Metadata)]>([])
        let metadataSets = Mutex(0)
    }

    /// A handler that records its lines and counts each change of its own metadata.
    struct Recorder: LogHandler {
        let seen: Seen
        var logLevel: Logger.Level = .info
        var metadata: Logger.Metadata = [:] {
            didSet { seen.metadataSets.withLock { $0 += 1 } }
        }

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            seen.lines.withLock { $0.append((event.message.description, event.metadata ?? [:])) }
        }
    }

    @Test("keys set on a logger reach the writer only with a written line, the line's own keys taking precedence")
    func metadataTravelsWithTheLine() {
        let seen = Seen()
        var logger = Logger(label: "test") { _ in DeferredMetadataLogHandler(Recorder(seen: seen)) }
        logger.logLevel = .info
        logger[metadataKey: "request.id"] = "r1"
        logger[metadataKey: "channel"] = "sms"
        logger.debug("below the level")
        logger.info("sent", metadata: ["channel": "email", "attempt": "2"])
        logger.warning("plain")

        #expect(seen.metadataSets.withLock { $0 } == 0, "the writer's own metadata was set")
        let lines = seen.lines.withLock { $0 }
        #expect(lines.map(\.message) == ["sent", "plain"])
        #expect(lines.first?.metadata == ["request.id": "r1", "channel": "email", "attempt": "2"])
        #expect(lines.last?.metadata == ["request.id": "r1", "channel": "sms"])
        #expect(logger[metadataKey: "channel"] == "sms")
        #expect(logger.logLevel == .info)
    }
}

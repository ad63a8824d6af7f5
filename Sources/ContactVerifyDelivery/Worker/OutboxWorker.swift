import ContactVerifyCore
import Foundation
import Logging
import Metrics
import ServiceLifecycle
import Synchronization

/// The two transports the worker sends through.
public struct Transports: Sendable {
    public var email: any MessageTransport
    public var sms: any MessageTransport

    public init(email: any MessageTransport, sms: any MessageTransport) {
        self.email = email
        self.sms = sms
    }

    func transport(for channel: VerificationChannel) -> any MessageTransport {
        channel == .email ? email : sms
    }
}

/// Sends what the outbox holds: claims due messages atomically, renders them, hands them to
/// a transport and records the outcome (design §5).
///
/// Transient and ambiguous failures are retried with full-jitter backoff until the secret
/// expires; permanent ones fail the verification at once with the reason visible. A message
/// is never sent after its secret expired, nor started when its longest send
/// (`sendAllowance`) would end after that. Messages a crash left `sending` are claimed again
/// when their lease runs out (at-least-once; the duplicate carries the same secret).
public final class OutboxWorker: Service, Sendable {
    private let store: any VerificationStore
    private let secrets: VerificationSecrets
    private let transports: Transports
    private let templates: TemplateLibrary
    private let clock: any WallClock
    private let publicURL: String
    private let reports: DeliveryReportReference?
    private let retry: RetrySchedule
    private let batchSize: Int
    private let lease: TimeInterval
    private let sendAllowance: TimeInterval
    private let logger: Logger
    private let metrics: any MetricsFactory
    private let wake = WakeSignal()
    /// When the running loop last finished a pass (for readiness).
    private let lastPass = Mutex<ContinuousClock.Instant?>(nil)
    /// When the running loop last swept expired verifications and messages.
    private let lastExpiry = Mutex<ContinuousClock.Instant?>(nil)

    public init(
        store: any VerificationStore, secrets: VerificationSecrets, transports: Transports, templates: TemplateLibrary,
        clock: any WallClock, publicURL: String, reports: DeliveryReportReference? = nil, retry: RetrySchedule = RetrySchedule(),
        batchSize: Int = 64,
        lease: TimeInterval = 60, sendAllowance: TimeInterval = 0, logger: Logger, metrics: any MetricsFactory
    ) {
        self.store = store
        self.secrets = secrets
        self.transports = transports
        self.templates = templates
        self.clock = clock
        self.publicURL = publicURL
        self.reports = reports
        self.retry = retry
        self.batchSize = batchSize
        self.lease = lease
        self.sendAllowance = sendAllowance
        self.logger = logger
        self.metrics = metrics
    }

    /// The window (`batchSize`) for transports with `connections` connections in all: eight
    /// messages a connection, at least 64 and at most 1,024 (a transport's job queue holds
    /// 1,024). A message holds its place from its claim until its outcome is recorded, and the
    /// record (a group-committed write) takes several sends' time, so a window of a few
    /// messages a connection leaves connections idle: with 32 connections a 10,000-SMS batch
    /// ran at about 630 messages a second with a window of 64 and 875–935 with 256
    /// (docs/performance.md).
    public static func window(connections: Int) -> Int {
        min(1_024, max(64, 8 * connections))
    }

    /// Whether the running loop finished a pass within `window` (it passes at least once a
    /// second, so a longer silence means it is stuck or stopped).
    public func isLive(within window: Duration = .seconds(15)) -> Bool {
        guard let last = lastPass.withLock({ $0 }) else { return false }
        return ContinuousClock.now - last <= window
    }

    /// Wakes the worker: a message was queued.
    public func notify() { wake.signal() }

    /// Runs until graceful shutdown: sends what is due, then sleeps until woken or until the
    /// next retry is due (at most one second, for leases and expiries). The expiry sweep runs
    /// before a claim once its last run is a second old (not before every claim), so it also
    /// runs while a long stream of messages keeps the window full.
    public func run() async throws {
        await wake.repeatUntilShutdown {
            do {
                try await sendWhileDue()
                Gauge(label: "outbox_depth", factory: metrics).record(try await store.outboxDepth())
            } catch is CancellationError {
                // Stopping: the pass was cut short on purpose.
            } catch {
                logger.error("Outbox pass failed", metadata: ["error.type": "\(type(of: error))"])
            }
            lastPass.withLock { $0 = .now }
            var timeout = Duration.seconds(1)
            if let due = try? await store.nextMessageDue() {
                let seconds = max(0, min(1, due.timeIntervalSince(clock.now())))
                timeout = .milliseconds(Int64(seconds * 1000))
            }
            await wake.wait(timeout: timeout)
        }
    }

    /// Claims and sends until nothing is due, with up to `batchSize` messages in flight: as
    /// soon as half of them are done, the next claim tops the window up, so a slow send does
    /// not hold back the claim after it (a sliding window rather than claim, wait for all,
    /// claim). While sends are in flight a wake (a new message) or a second's tick also tops
    /// the window up and runs the expiry sweep, even if every send in flight hangs.
    private func sendWhileDue() async throws {
        var failure: (any Error)?
        await withTaskGroup(of: Bool.self) { group in
            var inFlight = 0
            var ticking = false
            while true {
                // After a failed claim, only let the sends in flight finish (never cancel a send).
                if failure == nil && inFlight <= batchSize / 2 {
                    do {
                        try await expireIfDue()
                        let now = clock.now()
                        let claimed = try await store.claimDueMessages(
                            now: now, leaseUntil: now.addingTimeInterval(lease), limit: batchSize - inFlight)
                        for item in claimed {
                            group.addTask {
                                await self.deliver(item)
                                return true
                            }
                        }
                        inFlight += claimed.count
                    } catch {
                        failure = error
                    }
                    lastPass.withLock { $0 = .now }
                }
                // Nothing due and nothing sending: the pass is over (the tick, if any, ends).
                if inFlight == 0 {
                    group.cancelAll()
                    return
                }
                if !ticking {
                    ticking = true
                    group.addTask {
                        await self.wake.wait(timeout: .seconds(1))
                        return false
                    }
                }
                let sent = await group.next() ?? false
                if sent { inFlight -= 1 } else { ticking = false }
            }
        }
        if let failure { throw failure }
    }

    /// Sweeps expired verifications and messages if the last sweep is a second old.
    private func expireIfDue() async throws {
        let sweptLately = lastExpiry.withLock { last in last.map { ContinuousClock.now - $0 < .seconds(1) } ?? false }
        if sweptLately { return }
        _ = try await store.expireDue(now: clock.now())
        lastExpiry.withLock { $0 = .now }
    }

    /// One pass: expires what is due, claims up to a batch of due messages and delivers them
    /// concurrently. Returns how many messages it handled; tests call it instead of `run()`.
    @discardableResult
    public func runOnce() async throws -> Int {
        let now = clock.now()
        _ = try await store.expireDue(now: now)
        let claimed = try await store.claimDueMessages(now: now, leaseUntil: now.addingTimeInterval(lease), limit: batchSize)
        await withTaskGroup(of: Void.self) { group in
            for item in claimed {
                group.addTask { await self.deliver(item) }
            }
        }
        Gauge(label: "outbox_depth", factory: metrics).record(try await store.outboxDepth())
        return claimed.count
    }

    /// Sends until nothing is due now; for tests and `send-test`.
    public func drain() async throws {
        while try await runOnce() > 0 {}
    }

    // MARK: One message

    private func deliver(_ item: ClaimedMessage) async {
        let message = item.message
        let verification = item.verification
        var log = logger
        log[metadataKey: "message.id"] = .string(message.id)
        log[metadataKey: "channel"] = .string(message.channel.rawValue)
        log[metadataKey: "verification.id"] = .string(verification.id)
        log[metadataKey: "to"] = .string(MIMEMessage.maskedAddress(verification.address, channel: verification.channel))
        let now = clock.now()
        if verification.status != .pending || !canStartSend(message, at: now) {
            await record(message, outcome: verification.status == .pending ? "expired" : "canceled", log: log) { m, _, _ in
                m.status = verification.status == .pending ? .expired : .canceled
            }
            return
        }
        let outbound: OutboundMessage
        do {
            outbound = try render(item)
        } catch {
            log.error("Message could not be rendered", metadata: ["error.type": "\(type(of: error))"])
            await record(message, outcome: "failed", log: log) { m, v, contact in
                m.status = .failed
                m.lastErrorCode = "render_failed"
                m.lastErrorMessage = "The message template could not be rendered."
                VerificationRules.end(&v, as: .failed, contact: &contact)
            }
            return
        }
        let start = ContinuousClock.now
        do {
            let receipt = try await transports.transport(for: message.channel).deliver(outbound)
            let elapsed = (ContinuousClock.now - start).components
            Timer(label: "message_send_duration_seconds", dimensions: [("channel", message.channel.rawValue)], factory: metrics)
                .recordNanoseconds(elapsed.seconds * 1_000_000_000 + elapsed.attoseconds / 1_000_000_000)
            log.debug("Message sent", metadata: ["attempt": .stringConvertible(message.attempts)])
            await record(message, outcome: "sent", log: log) { m, _, _ in
                // A delivery report may have arrived before this record.
                if m.status != .delivered && m.status != .undelivered { m.status = .sent }
                m.providerMessageID = receipt.providerMessageID
                m.lastErrorCode = nil
                m.lastErrorMessage = nil
            }
        } catch {
            await recordFailure(error, message: message, log: log)
        }
    }

    /// Whether a send started at `instant` ends before the message's secret runs out, however
    /// slow it is (`sendAllowance`, the longest send): a code never arrives already expired.
    private func canStartSend(_ message: OutboxMessage, at instant: Date) -> Bool {
        instant.addingTimeInterval(sendAllowance) < message.expiresAt
    }

    private func recordFailure(_ error: DeliveryError, message: OutboxMessage, log: Logger) async {
        let now = clock.now()
        if error.kind == .ambiguous {
            Counter(label: "messages_ambiguous_total", dimensions: [("channel", message.channel.rawValue)], factory: metrics).increment()
        }
        if error.isTLSFailure {
            // Failed closed (no cleartext fallback); every message waits until TLS works again.
            Counter(label: "delivery_tls_failures_total", dimensions: [("channel", message.channel.rawValue)], factory: metrics).increment()
            log.error("No secure channel to the server: the message waits", metadata: ["error.code": .string(error.code)])
        }
        if error.kind == .permanent {
            log.notice("Message failed permanently", metadata: ["error.code": .string(error.code)])
            await record(message, outcome: "failed", log: log) { m, v, contact in
                m.status = .failed
                m.lastErrorCode = error.code
                m.lastErrorMessage = error.message
                VerificationRules.end(&v, as: .failed, contact: &contact)
            }
            return
        }
        var delay = retry.delay(attempt: message.attempts)
        if let retryAfter = error.retryAfter {
            let (seconds, attoseconds) = retryAfter.components
            delay = max(delay, Double(seconds) + Double(attoseconds) / 1e18)
        }
        let next = now.addingTimeInterval(delay)
        let expires = !canStartSend(message, at: next)
        log.info(
            "Message delivery will be retried",
            metadata: ["error.code": .string(error.code), "error.message": .string(error.message), "retry.in": .stringConvertible(Int(delay))])
        await record(message, outcome: expires ? "expired" : "retry", log: log) { m, _, _ in
            m.status = expires ? .expired : .queued
            m.nextAttemptAt = expires ? m.expiresAt : next
            m.lastErrorCode = error.code
            m.lastErrorMessage = error.message
        }
    }

    private func record(
        _ message: OutboxMessage, outcome: String, log: Logger,
        _ change: @escaping @Sendable (inout OutboxMessage, inout Verification, inout Contact?) -> Void
    ) async {
        let dimensions = [
            ("channel", message.channel.rawValue), ("provider", transports.transport(for: message.channel).providerName), ("outcome", outcome),
        ]
        Counter(label: "messages_total", dimensions: dimensions, factory: metrics).increment()
        let id = message.id
        do {
            try await store.recordDelivery(messageID: id, now: clock.now(), change)
        } catch {
            // The lease runs out and the message is claimed again: at-least-once.
            log.error("Could not record a delivery outcome", metadata: ["error.type": "\(type(of: error))"])
        }
    }

    // MARK: Rendering

    private func render(_ item: ClaimedMessage) throws -> OutboundMessage {
        let v = item.verification
        let secret = secrets.secret(for: v)
        let remaining = v.expiresAt.timeIntervalSince(clock.now())
        let minutes = max(1, Int((remaining / 60).rounded(.up)))
        let masked = MIMEMessage.maskedAddress(v.address, channel: v.channel)
        let context = MessageContext(
            accountName: item.accountName, contactName: item.contactName ?? "", code: v.method == .code ? secret : nil,
            link: v.method == .link ? "\(publicURL)/verify/\(secret)" : nil, expiresInMinutes: minutes, maskedAddress: masked)
        let locale = templates.locale(for: [v.locale])
        switch v.channel {
        case .email:
            return OutboundMessage(id: item.message.id, channel: .email, to: v.address, email: try templates.email(v.method, locale: locale, context: context), smsText: nil)
        case .sms:
            return OutboundMessage(
                id: item.message.id, channel: .sms, to: v.address, smsText: try templates.sms(v.method, locale: locale, context: context),
                deliveryReportURL: reports.map { "\(publicURL)/v1/delivery-reports/\($0.make(messageID: item.message.id))" },
                timeToLive: .milliseconds(Int64(max(0, remaining) * 1000)))
        }
    }
}

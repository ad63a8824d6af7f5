import ContactVerifyCore
import Foundation
import Logging
import Metrics
import ServiceLifecycle

/// Delivers events to accounts' callback URLs, signed the Standard Webhooks way with the
/// account's `callbackSecret`, only to addresses the ``OutboundTargetPolicy`` permits (a
/// callback to a forbidden address fails at once): `2xx` is delivered; `429`, `5xx` and network failures are
/// retried with full-jitter backoff (honouring `Retry-After`) for up to a day; any other
/// answer fails the event at once.
public final class EventWorker: Service, Sendable {
    private let store: any EventStore
    private let client: any HTTPClient
    private let clock: any WallClock
    private let retry: RetrySchedule
    private let timeout: Duration
    private let targetPolicy: OutboundTargetPolicy
    private let logger: Logger
    private let metrics: any MetricsFactory
    private let wake = WakeSignal()

    public init(
        store: any EventStore, client: any HTTPClient, clock: any WallClock, retry: RetrySchedule = RetrySchedule(cap: 300),
        timeout: Duration = .seconds(5), targetPolicy: OutboundTargetPolicy, logger: Logger, metrics: any MetricsFactory
    ) {
        self.store = store
        self.client = client
        self.clock = clock
        self.retry = retry
        self.timeout = timeout
        self.targetPolicy = targetPolicy
        self.logger = logger
        self.metrics = metrics
    }

    /// Wakes the worker: an event may be due.
    public func notify() { wake.signal() }

    /// Whether a wake-up is waiting for the worker's next pass (for tests).
    var isWakePending: Bool { wake.isPending }

    public func run() async throws {
        await wake.repeatUntilShutdown {
            do {
                while try await runOnce() > 0 {}
            } catch is CancellationError {
                // Stopping: the pass was cut short on purpose.
            } catch {
                logger.error("Event pass failed", metadata: ["error.type": "\(type(of: error))"])
            }
            await wake.wait(timeout: .seconds(1))
        }
    }

    /// One pass: claims due events and delivers them concurrently; returns how many.
    @discardableResult
    public func runOnce() async throws -> Int {
        let now = clock.now()
        let claimed = try await store.claimDueEvents(now: now, leaseUntil: now.addingTimeInterval(60), limit: 32)
        await withTaskGroup(of: Void.self) { group in
            for item in claimed {
                group.addTask { await self.deliver(item) }
            }
        }
        return claimed.count
    }

    private func deliver(_ item: ClaimedEvent) async {
        let event = item.event
        let now = clock.now()
        var headers = [HTTPHeader("Content-Type", "application/json"), HTTPHeader("User-Agent", "ContactVerify")]
        headers += StandardWebhookHeaders.make(
            id: event.id, timestamp: Int64(now.timeIntervalSince1970), body: event.payload, secret: item.callbackSecret)
        let request = OutboundHTTPRequest(
            method: "POST", url: item.callbackURL, headers: headers, body: event.payload, timeout: timeout, targetPolicy: targetPolicy)
        var retryAfter: TimeInterval?
        let failure: String
        do {
            let response = try await client.send(request)
            switch response.status {
            case 200..<300:
                await record(event, .delivered, next: now, error: nil)
                return
            case 429, 500...:
                failure = "HTTP \(response.status)"
                retryAfter = response.header("Retry-After").flatMap(TimeInterval.init)
            default:
                await record(event, .failed, next: now, error: "HTTP \(response.status)")
                return
            }
        } catch {
            if error.kind == .blockedTarget {
                await record(event, .failed, next: now, error: error.description)
                return
            }
            failure = error.description
        }
        let delay = max(retry.delay(attempt: event.attempts), min(retryAfter ?? 0, 3600))
        let next = now.addingTimeInterval(delay)
        let givesUp = next > event.createdAt.addingTimeInterval(Event.retryWindow)
        await record(event, givesUp ? .failed : .queued, next: next, error: failure)
    }

    private func record(_ event: Event, _ status: Event.Status, next: Date, error: String?) async {
        Counter(label: "events_total", dimensions: [("type", event.type), ("status", status.rawValue)], factory: metrics).increment()
        do {
            try await store.recordEventAttempt(id: event.id, status: status, nextAttemptAt: next, lastError: error, now: clock.now())
        } catch {
            logger.error("Could not record an event attempt", metadata: ["event.id": .string(event.id)])
        }
    }
}

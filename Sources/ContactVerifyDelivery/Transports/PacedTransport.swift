import ContactVerifyCore
import Synchronization

/// Paces one transport: at most `ratePerSecond` messages a second (a token bucket with a
/// burst of one second's worth), and no attempt at all while the provider asked for a pause
/// (`429`/`503` with `Retry-After`, security.md F14–F15).
///
/// A message that would have to wait longer than `maximumWait` for its turn, or that arrives
/// during a pause, is not sent: it fails as transient `rate_limited` with the wait as
/// `retryAfter`, so the outbox requeues it for then instead of holding its lease.
///
/// With a ``SharedProviderPause``, a pause holds across every instance on the database: this
/// instance records the pauses it meets, and honours those others recorded (read at most every
/// refresh interval, not per message). The rate stays per process: with several instances,
/// give each its share of the provider's limit.
public struct PacedTransport: MessageTransport {
    private let base: any MessageTransport
    private let pacer: SendPacer
    private let sharedPause: SharedProviderPause?

    /// Wraps `base`; `ratePerSecond` of `nil` paces only by the provider's pauses, which
    /// `sharedPause` (for `base`'s provider) shares with other instances.
    public init(
        _ base: any MessageTransport, ratePerSecond: Double?, maximumWait: Duration = .seconds(5), sharedPause: SharedProviderPause? = nil
    ) {
        self.base = base
        self.pacer = SendPacer(ratePerSecond: ratePerSecond, maximumWait: maximumWait)
        self.sharedPause = sharedPause
    }

    /// The wrapped transport's provider.
    public var providerName: String { base.providerName }

    /// Waits for a send slot, then delivers through the wrapped transport; a provider-wide
    /// `Retry-After` (``DeliveryError/pausesProvider``) pauses every later message, on every
    /// instance when the pause is shared.
    public func deliver(_ message: OutboundMessage) async throws(DeliveryError) -> DeliveryReceipt {
        if let sharedPause {
            let now = ContinuousClock.now
            if let until = await sharedPause.pausedUntil(at: now) { pacer.pause(for: until - now, at: now) }
        }
        switch pacer.reserve(at: .now) {
        case .now:
            break
        case .after(let wait):
            do {
                try await Task.sleep(for: wait)
            } catch {
                throw DeliveryError(kind: .transient, code: "rate_limited", message: "Shutting down before the send slot.", retryAfter: wait)
            }
        case .refused(let wait):
            throw DeliveryError(
                kind: .transient, code: "rate_limited",
                message: "The provider's rate limit leaves no send slot now.", retryAfter: wait)
        }
        do {
            return try await base.deliver(message)
        } catch {
            if error.pausesProvider, let pause = error.retryAfter {
                pacer.pause(for: pause, at: .now)
                await sharedPause?.record(pause)
            }
            throw error
        }
    }
}

/// The token bucket and pause behind ``PacedTransport``; time is passed in so tests can drive it.
public final class SendPacer: Sendable {
    /// When a caller may send.
    public enum Slot: Equatable, Sendable {
        /// Send at once.
        case now
        /// A slot is reserved after this wait.
        case after(Duration)
        /// No slot within the maximum wait (or the provider paused sending): retry after this.
        case refused(Duration)
    }

    private struct State {
        /// The time the next slot frees up (a virtual schedule: each send moves it by one interval).
        var nextSlot: ContinuousClock.Instant?
        /// No sends before this (a provider's `Retry-After`).
        var pausedUntil: ContinuousClock.Instant?
    }

    private let interval: Duration?
    private let burst: Duration
    private let maximumWait: Duration
    private let state = Mutex(State())

    /// `ratePerSecond` of `nil` or ≤ 0 means unlimited (pauses still apply).
    public init(ratePerSecond: Double?, maximumWait: Duration) {
        if let rate = ratePerSecond, rate > 0 {
            let interval = Duration.nanoseconds(Int64((1e9 / rate).rounded(.up)))
            self.interval = interval
            // A burst of one second's worth (at least one message) may go at once.
            self.burst = max(.seconds(1), interval) - interval
        } else {
            self.interval = nil
            self.burst = .zero
        }
        self.maximumWait = maximumWait
    }

    /// Reserves the next slot at `now`.
    public func reserve(at now: ContinuousClock.Instant) -> Slot {
        state.withLock { state in
            if let paused = state.pausedUntil, paused > now {
                return .refused(paused - now)
            }
            guard let interval else { return .now }
            // An idle bucket refills up to the burst: the schedule never lags `now` by more.
            let earliest = now - burst
            let slot = max(state.nextSlot ?? earliest, earliest)
            let wait = slot - now
            if wait > maximumWait { return .refused(wait) }
            state.nextSlot = slot + interval
            return wait > .zero ? .after(wait) : .now
        }
    }

    /// Stops every send for `duration` from `now` (a longer pause already in force wins).
    public func pause(for duration: Duration, at now: ContinuousClock.Instant) {
        state.withLock { state in
            let until = now + duration
            if state.pausedUntil.map({ $0 < until }) ?? true { state.pausedUntil = until }
        }
    }
}

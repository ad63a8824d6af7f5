import ContactVerifyCore
import Foundation
import Logging
import Synchronization

/// One provider's pause as every instance on one database sees it (security.md F15): a pause
/// this instance meets is recorded in the ``ProviderPauseStore``, and ``PacedTransport`` honours
/// one that another instance recorded.
///
/// The store is read at most once per `refreshInterval`: a send after that waits for one read,
/// and sends at the same time wait for that same read; the sends in between use its answer.
/// So an instance meets another's pause at most `refreshInterval` (plus one read) late, and a
/// stream of thousands of messages a second costs a few reads a second. A store that fails is
/// not fatal: the failure is logged once, and the instance keeps to its own pauses until the
/// store answers again.
public final class SharedProviderPause: Sendable {
    private struct State {
        /// When the last read began (its answer holds until `refreshInterval` later).
        var lastRead: ContinuousClock.Instant?
        /// The read under way, which sends that find the last one stale wait for.
        var reading: Task<Void, Never>?
        /// The end of the recorded pause, as of the last read.
        var pausedUntil: ContinuousClock.Instant?
        /// Whether the last read or write failed (logged once per run of failures).
        var failing = false
    }

    /// The provider's name in the store (the transport's ``MessageTransport/providerName``).
    public let provider: String
    private let store: any ProviderPauseStore
    private let refreshInterval: Duration
    private let clock: any WallClock
    private let logger: Logger
    private let state = Mutex(State())

    /// Shares `provider`'s pauses through `store`, reading it at most once per
    /// `refreshInterval`. `clock` dates the recorded pauses: the system clock in service, since
    /// pauses are real time like the pacer's.
    public init(
        provider: String, store: any ProviderPauseStore, refreshInterval: Duration = .milliseconds(250),
        clock: any WallClock = SystemWallClock(), logger: Logger = Logger(label: "contact-verify.pacing")
    ) {
        self.provider = provider
        self.store = store
        self.refreshInterval = refreshInterval
        self.clock = clock
        self.logger = logger
    }

    /// The end of the pause recorded for the provider, if one is in force at `now` as far as
    /// the last read knows; reads the store first when that read is older than the refresh
    /// interval (or waits for the read under way).
    func pausedUntil(at now: ContinuousClock.Instant) async -> ContinuousClock.Instant? {
        let read: Task<Void, Never>? = state.withLock { state in
            if let reading = state.reading { return reading }
            if let last = state.lastRead, now - last < refreshInterval { return nil }
            let reading = Task { await self.read() }
            state.reading = reading
            return reading
        }
        await read?.value
        return state.withLock { state in state.pausedUntil.flatMap { $0 > now ? $0 : nil } }
    }

    /// Records a pause of `duration` from now for every instance; a store failure is logged.
    func record(_ duration: Duration) async {
        let (seconds, attoseconds) = duration.components
        // Rounded up to the store's whole milliseconds, so the recorded pause is never shorter.
        let until = clock.now().addingTimeInterval(Double(seconds) + (Double(attoseconds) / 1e15).rounded(.up) / 1000)
        do {
            try await store.recordProviderPause(provider: provider, until: until)
            noteSuccess()
        } catch {
            noteFailure(error, "record")
        }
    }

    private func read() async {
        // The two clocks read together: the recorded end in wall time becomes an instant.
        let now = ContinuousClock.now
        let wallNow = clock.now()
        // `.none` when the read failed: the last answer stands.
        var answer: ContinuousClock.Instant??
        do {
            let until = try await store.providerPause(provider: provider, now: wallNow)
            answer = .some(until.map { now + .milliseconds(Int64(($0.timeIntervalSince(wallNow) * 1000).rounded(.up))) })
            noteSuccess()
        } catch {
            noteFailure(error, "read")
        }
        state.withLock { state in
            state.lastRead = now
            state.reading = nil
            if let answer { state.pausedUntil = answer }
        }
    }

    private func noteSuccess() {
        let recovered = state.withLock { state in
            defer { state.failing = false }
            return state.failing
        }
        if recovered {
            logger.notice("The shared provider pause is available again", metadata: ["provider": .string(provider)])
        }
    }

    private func noteFailure(_ error: any Error, _ operation: String) {
        let first = state.withLock { state in
            defer { state.failing = true }
            return !state.failing
        }
        if first {
            logger.warning(
                "Cannot \(operation) the shared provider pause; this instance keeps to its own pauses",
                metadata: ["provider": .string(provider), "error.type": "\(type(of: error))"])
        }
    }
}

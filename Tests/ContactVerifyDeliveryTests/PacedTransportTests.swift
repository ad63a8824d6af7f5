import ContactVerifyCore
import Foundation
import Synchronization
import Testing

@testable import ContactVerifyDelivery

@Suite("Pacing a transport (token bucket and provider pauses)")
struct PacedTransportTests {
    let start = ContinuousClock.now

    @Test("a rate of 10/s lets a second's burst through, then spaces sends 100 ms apart")
    func tokenBucket() {
        let pacer = SendPacer(ratePerSecond: 10, maximumWait: .seconds(5))
        let slots = (0..<12).map { _ in pacer.reserve(at: start) }
        #expect(slots.prefix(10).allSatisfy { $0 == .now }, "\(slots)")
        #expect(slots[10] == .after(.milliseconds(100)))
        #expect(slots[11] == .after(.milliseconds(200)))
        // An idle second refills the bucket, but never beyond one second's worth.
        let later = start + .seconds(60)
        #expect((0..<10).map { _ in pacer.reserve(at: later) }.allSatisfy { $0 == .now })
        #expect(pacer.reserve(at: later) == .after(.milliseconds(100)))
    }

    @Test("a slot further away than the maximum wait is refused with the wait, and not taken")
    func refusal() {
        let pacer = SendPacer(ratePerSecond: 1, maximumWait: .seconds(2))
        #expect(pacer.reserve(at: start) == .now)
        #expect(pacer.reserve(at: start) == .after(.seconds(1)))
        #expect(pacer.reserve(at: start) == .after(.seconds(2)))
        #expect(pacer.reserve(at: start) == .refused(.seconds(3)))
        #expect(pacer.reserve(at: start) == .refused(.seconds(3)), "a refused caller does not use up the slot")
    }

    @Test("a provider's pause refuses every send until it ends (F15), even without a rate")
    func pause() {
        let pacer = SendPacer(ratePerSecond: nil, maximumWait: .seconds(5))
        #expect(pacer.reserve(at: start) == .now)
        pacer.pause(for: .seconds(30), at: start)
        pacer.pause(for: .seconds(10), at: start)
        #expect(pacer.reserve(at: start + .seconds(1)) == .refused(.seconds(29)), "a shorter pause does not cut a longer one")
        #expect(pacer.reserve(at: start + .seconds(30)) == .now)
    }

    @Test("a 429 with Retry-After through the transport holds back the next message without calling the provider")
    func transportPause() async throws {
        let provider = CountingTransport(failure: DeliveryError(
            kind: .transient, code: "http_429", message: "slow down", retryAfter: .seconds(30), pausesProvider: true))
        let paced = PacedTransport(provider, ratePerSecond: nil)
        let start = ContinuousClock.now
        await #expect(throws: DeliveryError.self) { try await paced.deliver(Self.message) }
        await Self.expectRefusal(paced, restOf: .seconds(30), since: start)
        #expect(provider.calls == 1, "no attempt reached the provider during the pause")
    }

    // MARK: The pause shared by the instances on one database (F15)

    static let limited = DeliveryError(
        kind: .transient, code: "twilio_20429", message: "Too Many Requests", retryAfter: .seconds(30), pausesProvider: true)
    static let message = OutboundMessage(id: "msg_1", channel: .sms, to: "+8613800138000", smsText: "hi")

    /// Delivers `message` and expects a `rate_limited` refusal whose retryAfter is the rest of a
    /// `pause` that began at or after `start`: at most `pause`, and at least `pause` less the time
    /// gone by since `start` (a loaded machine may take seconds between two lines).
    static func expectRefusal(
        _ paced: PacedTransport, restOf pause: Duration, since start: ContinuousClock.Instant,
        sourceLocation: SourceLocation = #_sourceLocation
    ) async {
        do {
            _ = try await paced.deliver(message)
            Issue.record("a message went through during the provider's pause", sourceLocation: sourceLocation)
        } catch {
            let elapsed = ContinuousClock.now - start
            #expect(error.code == "rate_limited", sourceLocation: sourceLocation)
            #expect(error.kind == .transient, sourceLocation: sourceLocation)
            let wait = error.retryAfter ?? .zero
            #expect(wait > pause - elapsed && wait <= pause, "retryAfter \(wait), \(elapsed) after the pause began", sourceLocation: sourceLocation)
        }
    }

    @Test("a pause another instance recorded refuses sends as rate_limited with the rest of the pause as retryAfter, without calling the provider; another provider's pause does not")
    func sharedPauseRefuses() async throws {
        let clock = ManualWallClock()
        let store = MemoryPauseStore()
        try await store.recordProviderPause(provider: "twilio", until: clock.now().addingTimeInterval(30))
        let provider = CountingTransport(failure: nil)
        let paced = PacedTransport(
            provider, ratePerSecond: nil, sharedPause: SharedProviderPause(provider: "twilio", store: store, clock: clock))
        // The wall clock stands still: the pause has 30 s left when it is read, during the send.
        await Self.expectRefusal(paced, restOf: .seconds(30), since: .now)
        #expect(provider.calls == 0, "no attempt reached the provider during the pause")

        let other = PacedTransport(
            provider, ratePerSecond: nil, sharedPause: SharedProviderPause(provider: "kannel", store: store, clock: clock))
        _ = try await other.deliver(Self.message)
        #expect(provider.calls == 1)
    }

    @Test("one instance's 429 records the pause's end in the store, and a second instance on that store then refuses without calling the provider")
    func failureRecordsPause() async throws {
        let clock = ManualWallClock()
        let store = MemoryPauseStore()
        let providerA = CountingTransport(failure: Self.limited)
        let providerB = CountingTransport(failure: nil)
        let a = PacedTransport(providerA, ratePerSecond: nil, sharedPause: SharedProviderPause(provider: "twilio", store: store, clock: clock))
        let b = PacedTransport(providerB, ratePerSecond: nil, sharedPause: SharedProviderPause(provider: "twilio", store: store, clock: clock))
        do {
            _ = try await a.deliver(Self.message)
            Issue.record("the 429 was not passed on")
        } catch {
            #expect(error.code == "twilio_20429", "the provider's own error goes to the outbox")
        }
        #expect(store.pause("twilio") == clock.now().addingTimeInterval(30))
        await Self.expectRefusal(b, restOf: .seconds(30), since: .now)
        #expect(providerB.calls == 0)
        #expect(providerA.calls == 1)
    }

    @Test("the store is read once per refresh interval, not per message, and sends during a read wait for that one read")
    func readsAreCached() async throws {
        let clock = ManualWallClock()
        let store = MemoryPauseStore()
        let provider = CountingTransport(failure: nil)
        let paced = PacedTransport(
            provider, ratePerSecond: nil,
            sharedPause: SharedProviderPause(provider: "twilio", store: store, refreshInterval: .seconds(3600), clock: clock))
        for _ in 0..<200 { _ = try await paced.deliver(Self.message) }
        #expect(provider.calls == 200)
        #expect(store.reads == 1, "one read for 200 messages within the refresh interval")

        // A slow store and a pause: sends that arrive during the read wait for its answer.
        let slow = MemoryPauseStore()
        slow.setReadDelay(.milliseconds(300))
        try await slow.recordProviderPause(provider: "twilio", until: clock.now().addingTimeInterval(30))
        let second = CountingTransport(failure: nil)
        let shared = PacedTransport(
            second, ratePerSecond: nil,
            sharedPause: SharedProviderPause(provider: "twilio", store: slow, refreshInterval: .seconds(3600), clock: clock))
        let refused = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<20 {
                group.addTask {
                    do throws(DeliveryError) {
                        _ = try await shared.deliver(Self.message)
                        return false
                    } catch {
                        return error.code == "rate_limited"
                    }
                }
            }
            return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(refused == 20)
        #expect(second.calls == 0)
        #expect(slow.reads == 1)
    }

    @Test("a store that fails is not fatal: messages are sent, and this instance's own 429 still pauses it")
    func storeFailureFallsBack() async throws {
        let store = MemoryPauseStore()
        store.setFailing(true)
        let provider = CountingTransport(failure: nil)
        let paced = PacedTransport(
            provider, ratePerSecond: nil, sharedPause: SharedProviderPause(provider: "twilio", store: store, refreshInterval: .zero))
        _ = try await paced.deliver(Self.message)
        #expect(provider.calls == 1)
        #expect(store.reads == 1)

        provider.fail(with: Self.limited)
        let failed = ContinuousClock.now
        await #expect(throws: DeliveryError.self) { try await paced.deliver(Self.message) }
        #expect(store.pause("twilio") == nil, "the write failed")
        provider.fail(with: nil)
        await Self.expectRefusal(paced, restOf: .seconds(30), since: failed)
        #expect(provider.calls == 2, "the local pause held the third message back")
        #expect(store.reads == 3, "the store was still asked before each send")
    }

    @Test("a per-recipient wait (no provider pause) does not hold back other messages")
    func recipientWait() async throws {
        let provider = CountingTransport(failure: DeliveryError(
            kind: .transient, code: "aliyun_isv.BUSINESS_LIMIT_CONTROL", message: "per-number limit", retryAfter: .seconds(60)))
        let paced = PacedTransport(provider, ratePerSecond: nil)
        let message = OutboundMessage(id: "msg_1", channel: .sms, to: "+8613800138000", smsText: "hi")
        for _ in 0..<2 {
            await #expect(throws: DeliveryError.self) { try await paced.deliver(message) }
        }
        #expect(provider.calls == 2)
    }
}

/// Fails every delivery with one error (none: succeeds) and counts the calls.
private final class CountingTransport: MessageTransport {
    private struct State {
        var failure: DeliveryError?
        var calls = 0
    }
    private let state: Mutex<State>
    init(failure: DeliveryError?) { state = Mutex(State(failure: failure)) }
    var calls: Int { state.withLock { $0.calls } }
    /// Changes the outcome of later deliveries.
    func fail(with failure: DeliveryError?) { state.withLock { $0.failure = failure } }
    func deliver(_ message: OutboundMessage) async throws(DeliveryError) -> DeliveryReceipt {
        let failure = state.withLock { state in
            state.calls += 1
            return state.failure
        }
        if let failure { throw failure }
        return DeliveryReceipt(providerMessageID: "p\(calls)")
    }
}

/// The shared database's provider pauses, in memory: every ``PacedTransport`` given one stands
/// for an instance on that database. Counts reads; can fail, or answer slowly.
private final class MemoryPauseStore: ProviderPauseStore {
    private struct State {
        var pauses: [String: Date] = [:]
        var reads = 0
        var failing = false
        var readDelay = Duration.zero
    }
    struct Unavailable: Error {}
    private let state = Mutex(State())

    var reads: Int { state.withLock { $0.reads } }
    func pause(_ provider: String) -> Date? { state.withLock { $0.pauses[provider] } }
    func setFailing(_ failing: Bool) { state.withLock { $0.failing = failing } }
    func setReadDelay(_ delay: Duration) { state.withLock { $0.readDelay = delay } }

    func recordProviderPause(provider: String, until: Date) async throws {
        guard !state.withLock({ $0.failing }) else { throw Unavailable() }
        state.withLock { state in state.pauses[provider] = max(state.pauses[provider] ?? until, until) }
    }

    func providerPause(provider: String, now: Date) async throws -> Date? {
        let (delay, failing) = state.withLock { state in
            state.reads += 1
            return (state.readDelay, state.failing)
        }
        if delay > .zero { try await Task.sleep(for: delay) }
        guard !failing else { throw Unavailable() }
        return state.withLock { state in state.pauses[provider].flatMap { $0 > now ? $0 : nil } }
    }
}

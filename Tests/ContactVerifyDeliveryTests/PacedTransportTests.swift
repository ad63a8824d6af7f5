import ContactVerifyCore
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
        let message = OutboundMessage(id: "msg_1", channel: .sms, to: "+8613800138000", smsText: "hi")
        await #expect(throws: DeliveryError.self) { try await paced.deliver(message) }
        do {
            _ = try await paced.deliver(message)
            Issue.record("the second message went through during the pause")
        } catch {
            #expect(error.code == "rate_limited")
            #expect(error.kind == .transient)
            #expect(error.retryAfter.map { $0 > .seconds(29) && $0 <= .seconds(30) } == true)
        }
        #expect(provider.calls == 1, "no attempt reached the provider during the pause")
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

/// Fails every delivery with one error and counts the calls.
private final class CountingTransport: MessageTransport {
    let failure: DeliveryError
    private let count = Mutex(0)
    init(failure: DeliveryError) { self.failure = failure }
    var calls: Int { count.withLock { $0 } }
    func deliver(_ message: OutboundMessage) async throws(DeliveryError) -> DeliveryReceipt {
        count.withLock { $0 += 1 }
        throw failure
    }
}

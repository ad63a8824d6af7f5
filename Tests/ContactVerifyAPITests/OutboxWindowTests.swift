import ContactVerifyDelivery
import Foundation
import Synchronization
import Testing

/// The running outbox worker (`run()`, not the tests' one-claim `runOnce()`).
@Suite("Outbox worker loop")
struct OutboxWindowTests {
    /// An email transport that holds every message to `held` until ``release()`` and reports
    /// each other recipient as it accepts the message.
    final class GatedTransport: MessageTransport {
        private let held: String
        private let gate = Mutex<[CheckedContinuation<Void, Never>]?>([])
        let delivered: AsyncStream<String>
        private let sink: AsyncStream<String>.Continuation

        init(held: String) {
            self.held = held
            (delivered, sink) = AsyncStream.makeStream(of: String.self)
        }

        func deliver(_ message: OutboundMessage) async throws(DeliveryError) -> DeliveryReceipt {
            if message.to == held {
                await withCheckedContinuation { continuation in
                    let waitNow = gate.withLock { waiting in
                        guard waiting != nil else { return false }
                        waiting!.append(continuation)
                        return true
                    }
                    if !waitNow { continuation.resume() }
                }
            } else {
                sink.yield(message.to)
            }
            return DeliveryReceipt(providerMessageID: nil)
        }

        /// Lets the held message (and any later one) through.
        func release() {
            gate.withLock { waiting in
                let continuations = waiting ?? []
                waiting = nil
                return continuations
            }.forEach { $0.resume() }
        }
    }

    /// The next `count` distinct recipients the transport reports, or nil if they do not all
    /// arrive within `seconds` (the bound turns a worker that never sends them into a failure).
    static func receive(_ count: Int, from transport: GatedTransport, within seconds: Int = 60) async -> Set<String>? {
        await withTaskGroup(of: Set<String>?.self) { group in
            group.addTask {
                var seen = Set<String>()
                for await address in transport.delivered {
                    seen.insert(address)
                    if seen.count == count { break }
                }
                return seen
            }
            group.addTask {
                try? await Task.sleep(for: .seconds(seconds))
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
    }

    @Test("a send that hangs holds back neither the 100 messages behind it nor one queued while it hangs")
    func slowSendDoesNotBlockTheQueue() async throws {
        let transport = GatedTransport(held: "slow@example.com")
        let app = try await TestApp.make { $0.emailTransport = transport }
        defer { app.remove() }
        func start(_ name: String, _ email: String) async throws {
            try await app.test { client in
                let id = try await client.makeContact("acme", #"{"name":"\#(name)","email":"\#(email)"}"#)
                #expect(try await client.startVerification("acme", contact: id, #"{"channel":"email","method":"link"}"#).status == .accepted)
            }
        }
        try await app.test { client in _ = try await client.makeAccount("acme") }
        // The hanging message is due first, so it is in the worker's first claim.
        try await start("Slow", "slow@example.com")
        app.clock.advance(by: 1)
        for i in 0..<100 { try await start("C\(i)", "c\(i)@example.com") }
        let worker = Task { try await app.built.worker.run() }
        // A worker that waits for a whole claim before the next would leave 37 or more of them
        // behind the held message for ever.
        let first = await Self.receive(100, from: transport)
        #expect(first?.count == 100, "sent while one send hung: \(first?.count ?? -1) of 100 (nil: timed out)")
        // Once the 100 are recorded only the held send is in flight (and the worker's last
        // claim came back empty). A message queued now wakes the worker, which must claim it
        // without waiting for the held send to end.
        let deadline = ContinuousClock.now + .seconds(60)
        while try await app.built.store.outboxDepth() > 1 && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(try await app.built.store.outboxDepth() == 1)
        try await start("Late", "late@example.com")
        #expect(await Self.receive(1, from: transport) == ["late@example.com"])
        transport.release()
        worker.cancel()
        _ = try? await worker.value
    }
}

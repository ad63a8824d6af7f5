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

    @Test("a send that hangs does not hold back the rest: 100 messages behind it are sent while it waits")
    func slowSendDoesNotBlockTheQueue() async throws {
        let transport = GatedTransport(held: "slow@example.com")
        let app = try await TestApp.make { $0.emailTransport = transport }
        defer { app.remove() }
        try await app.test { client in
            _ = try await client.makeAccount("acme")
            // The hanging message is due first, so it is in the worker's first claim.
            let slow = try await client.makeContact("acme", #"{"name":"Slow","email":"slow@example.com"}"#)
            #expect(try await client.startVerification("acme", contact: slow, #"{"channel":"email","method":"link"}"#).status == .accepted)
            app.clock.advance(by: 1)
            for i in 0..<100 {
                let id = try await client.makeContact("acme", #"{"name":"C\#(i)","email":"c\#(i)@example.com"}"#)
                #expect(try await client.startVerification("acme", contact: id, #"{"channel":"email","method":"link"}"#).status == .accepted)
            }
        }
        let worker = Task { try await app.built.worker.run() }
        // With a worker that waits for a whole claim before the next, 37 or more messages would
        // wait behind the held one for ever; the 60 s bound only turns that into a failure.
        let seen = await withTaskGroup(of: Set<String>?.self) { group in
            group.addTask {
                var seen = Set<String>()
                for await address in transport.delivered {
                    seen.insert(address)
                    if seen.count == 100 { break }
                }
                return seen
            }
            group.addTask {
                try? await Task.sleep(for: .seconds(60))
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
        #expect(seen?.count == 100, "sent while one send hung: \(seen?.count ?? -1) of 100 (nil: timed out)")
        transport.release()
        worker.cancel()
        _ = try? await worker.value
    }
}

import ContactVerifyCore
import Foundation
import TestServers
import Hummingbird
import HummingbirdTesting
import Testing

@testable import ContactVerifyDelivery

@Suite("Events for callbacks")
struct EventsTests {
    static func payload(_ event: Event) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(event.payload)) as? [String: Any])
    }

    @Test("approved, expired and batch-completed events are queued with the change, and carry no secret")
    func queued() async throws {
        let app = try await TestApp.make { $0.allowPrivateWebhookTargets = true }
        defer { app.remove() }
        try await app.test { client in
            let put = try await client.call(
                .put, "/v1/accounts/acme",
                body: #"{"displayName":"Acme","defaultRegion":"CN","callbackUrl":"http://127.0.0.1:9/hook","callbackSecret":"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}"#)
            #expect(put.status == .created, "\(put.text)")
            let ann = try await client.makeContact("acme", #"{"name":"Ann","email":"ann@example.com"}"#)
            let bob = try await client.makeContact("acme", #"{"name":"Bob","email":"bob@example.com"}"#)
            let first = try #require(try await client.startVerification("acme", contact: ann).string("id"))
            try await app.deliver()
            let code = try app.outbox.lastCode(to: "ann@example.com")
            #expect(!app.built.events.isWakePending, "nothing queued an event yet")
            #expect(try await client.check("acme", verification: first, code: code).status == .ok)
            // The approval's commit woke the event worker (it delivers at once, not at its poll).
            #expect(app.built.events.isWakePending)

            let second = try #require(try await client.startVerification("acme", contact: bob).string("id"))
            app.clock.advance(by: 601)
            try await app.deliver()

            let batch = try await client.call(.post, "/v1/accounts/acme/verification-batches", body: #"{"channel":"email","contactIds":["\#(ann)"]}"#)
            #expect(batch.status == .accepted)
            try await app.runBatches()

            let events = try await app.built.store.events(accountID: "acme", limit: 10).reversed()
            #expect(events.map(\.type) == ["verification.approved", "verification.expired", "batch.completed"])
            let approved = try Self.payload(try #require(events.first))
            let data = try #require(approved["data"] as? [String: Any])
            #expect(data["verificationId"] as? String == first)
            #expect(data["status"] as? String == "approved")
            let expired = try #require(try Self.payload(Array(events)[1])["data"] as? [String: Any])
            #expect(expired["verificationId"] as? String == second)
            let completed = try #require(try Self.payload(Array(events)[2])["data"] as? [String: Any])
            #expect(completed["total"] as? Int == 1)
            #expect(completed["counts"] as? [String: Int] == ["skipped": 1], "Ann was verified already: the final counts say so")
            for event in events {
                let text = String(decoding: event.payload, as: UTF8.self)
                #expect(!text.contains(code), "no code in \(event.type)")
                #expect(event.status == .queued)
            }
        }
    }

    @Test("an account without a callback URL gets no events")
    func noCallback() async throws {
        let app = try await TestApp.make()
        defer { app.remove() }
        try await app.test { client in
            _ = try await client.makeAccount("acme", region: "CN")
            let ann = try await client.makeContact("acme", #"{"name":"Ann","email":"ann@example.com"}"#)
            let id = try #require(try await client.startVerification("acme", contact: ann).string("id"))
            try await app.deliver()
            #expect(try await client.check("acme", verification: id, code: try app.outbox.lastCode(to: "ann@example.com")).status == .ok)
            #expect(try await app.built.store.events(accountID: "acme", limit: 10).isEmpty)
            #expect(!app.built.events.isWakePending, "no event, no wake-up")
        }
    }

    @Test("the event worker delivers to the callback: 2xx delivered, 503 retried later, 400 failed")
    func delivery() async throws {
        let port = try FreePort.one()
        let echo = try ServerProcess(
            ServerProcess.python, [TestApp.packageRoot + "/scripts/servers/http_echo.py", String(port)],
            log: FileManager.default.temporaryDirectory.appendingPathComponent("cv-echo-\(UUID().uuidString).log").path)
        defer { echo.stop() }
        try await echo.waitUntilAccepting(port: port)
        let app = try await TestApp.make { $0.allowPrivateWebhookTargets = true }
        defer { app.remove() }
        try await app.test { client in
            var statuses: [Event.Status] = []
            for (index, path) in ["/status/204", "/status/503", "/status/400"].enumerated() {
                let account = "acct\(index)"
                let put = try await client.call(
                    .put, "/v1/accounts/\(account)",
                    body: #"{"displayName":"A","callbackUrl":"http://127.0.0.1:\#(port)\#(path)","callbackSecret":"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}"#)
                #expect(put.status == .created, "\(put.text)")
                let contact = try await client.makeContact(account, #"{"name":"Ann","email":"ann\#(index)@example.com"}"#)
                let id = try #require(try await client.startVerification(account, contact: contact).string("id"))
                try await app.deliver()
                #expect(try await client.check(account, verification: id, code: try app.outbox.lastCode(to: "ann\(index)@example.com")).status == .ok)
                #expect(try await app.built.events.runOnce() == 1)
                let event = try #require(try await app.built.store.events(accountID: account, limit: 1).first)
                statuses.append(event.status)
                if path == "/status/503" {
                    #expect(event.lastError == "HTTP 503")
                    #expect(event.attempts == 1)
                }
            }
            #expect(statuses == [.delivered, .queued, .failed])
        }
    }
}

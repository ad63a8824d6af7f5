import ContactVerifyAPI
import ContactVerifyCore
import ContactVerifyDelivery
import Foundation
import TestServers
import Testing

/// SMS gateway faults (security.md F14–F19) end to end: the API queues a verification, the
/// outbox worker sends it through the production `SMSTransport` (behind its `PacedTransport`)
/// with a Twilio or Kannel adapter and the real `CurlHTTPClient`, and
/// `scripts/servers/provider_stub.py` answers by magic number and logs every request.
///
/// Twilio magic numbers are used in their `+12025550NNN` form: the API refuses the stub's
/// `+15005550NNN` (area code 500 is a personal number, not a mobile).
@Suite("SMS faults through the outbox worker")
struct SMSWorkerFaultTests {
    static let sender = "+15005550006"

    static func twilio(_ stub: ProviderStub, timeout: Duration = .seconds(10)) -> TwilioGateway {
        TwilioGateway(
            baseURL: stub.baseURL, accountSID: ProviderStub.twilioSID, username: ProviderStub.twilioSID, password: ProviderStub.twilioToken,
            sender: .from(sender), timeout: timeout)
    }

    static func kannel(_ stub: ProviderStub) -> KannelGateway {
        KannelGateway(sendsmsURL: stub.baseURL + "/cgi-bin/sendsms", username: ProviderStub.kannelUser, password: ProviderStub.kannelPassword)
    }

    /// Starts the provider stub (with `stubArguments`) and an app that sends SMS through its
    /// Twilio API (requests time out after `timeout`), creates account `acme`, and runs `body`;
    /// stops both afterwards.
    static func withTwilio(
        stubArguments: [String] = [], timeout: Duration = .seconds(10),
        _ body: @escaping @Sendable (TestApp, Client, ProviderStub) async throws -> Void
    ) async throws {
        let stub = try await ProviderStub.start(arguments: stubArguments)
        defer { stub.stop() }
        let app = try await TestApp.make(smsGateway: twilio(stub, timeout: timeout))
        defer { app.remove() }
        try await app.test { client in
            _ = try await client.makeAccount("acme")
            try await body(app, client, stub)
        }
    }

    /// Creates account `acme` (once per app) as needed and a contact with `phone`, starts an
    /// SMS code verification and returns its id.
    static func start(_ client: Client, phone: String) async throws -> String {
        let contact = try await client.makeContact("acme", #"{"name":"Sam","phone":"\#(phone)"}"#)
        let reply = try await client.startVerification("acme", contact: contact, #"{"channel":"sms"}"#)
        #expect(reply.status == .accepted, "\(reply.text)")
        return try #require(reply.string("id"))
    }

    /// The verification's only message, as stored.
    static func message(_ app: TestApp, _ verification: String) async throws -> OutboxMessage {
        try #require(try await app.built.store.latestMessage(verificationID: verification))
    }

    /// The verification's status, as the API shows it.
    static func status(_ client: Client, _ verification: String) async throws -> String? {
        try await client.call(.get, "/v1/accounts/acme/verifications/\(verification)").string("status")
    }

    /// The requests the stub received for `to`, none breaking the protocol.
    static func requests(_ stub: ProviderStub, to: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> [ProviderStub.Record] {
        let records = try stub.requests().filter { ($0.field("To") ?? $0.field("to")) == to }
        for record in records {
            #expect(record.problems.isEmpty, "\(record.problems)", sourceLocation: sourceLocation)
        }
        return records
    }

    /// What reached the handsets, per outbox message id: the stub's 2xx answers to each
    /// verification's number (these tests give every verification its own number).
    static func copies(_ app: TestApp, _ stub: ProviderStub, _ verifications: [(String, String)]) async throws -> [String: Int] {
        var counts: [String: Int] = [:]
        for (id, phone) in verifications {
            counts[try await message(app, id).id] = try requests(stub, to: phone).filter { (200..<300).contains($0.status) }.count
        }
        return counts
    }

    /// The code in an SMS text.
    static func code(in text: String) throws -> String {
        String(try #require(text.firstMatch(of: /\b(\d{4,10})\b/), "no code in the SMS").1)
    }

    // MARK: One pass with a permanent failure, a rate limit and good numbers (F15, F16)

    @Test("one pass: good numbers are sent, an invalid one fails after one attempt, a 429 waits out its Retry-After, and a message during the pause is refused without a request")
    func mixedPass() async throws {
        try await Self.withTwilio { app, client, stub in
            let good = ["+12025550123", "+12025550124", "+12025550125"]
            var goodIDs: [String] = []
            for phone in good { goodIDs.append(try await Self.start(client, phone: phone)) }
            let invalid = try await Self.start(client, phone: "+12025550001")
            let limited = try await Self.start(client, phone: "+12025550429")

            let passStart = ContinuousClock.now
            #expect(try await app.built.worker.runOnce() == 5, "one pass claims all five")

            for (phone, id) in zip(good, goodIDs) {
                let message = try await Self.message(app, id)
                #expect(message.status == .sent, "\(phone): \(message.lastErrorCode ?? "")")
                #expect(message.providerMessageID?.hasPrefix("SM") == true)
                #expect(try Self.requests(stub, to: phone).map(\.status) == [201])
                #expect(try await Self.status(client, id) == "pending")
            }

            let failed = try await Self.message(app, invalid)
            #expect(failed.status == .failed)
            #expect(failed.attempts == 1)
            #expect(failed.lastErrorCode == "twilio_21211")
            #expect(try await Self.status(client, invalid) == "failed")
            #expect(try Self.requests(stub, to: "+12025550001").count == 1)

            let queued = try await Self.message(app, limited)
            #expect(queued.status == .queued)
            #expect(queued.lastErrorCode == "twilio_20429")
            #expect(queued.nextAttemptAt.timeIntervalSince(app.clock.now()) >= 3, "the stub's Retry-After: 3 is the earliest retry")
            #expect(try await Self.status(client, limited) == "pending")
            #expect(try Self.requests(stub, to: "+12025550429").count == 1)

            // The 429 paused the provider for 3 s (on the real clock, from its answer, which came
            // after `passStart`): a message started while the pause surely lasts is not sent at
            // all. On a machine so loaded that 1.5 s went by already, the pause may be over, and
            // PacedTransportTests cover the pause itself.
            if ContinuousClock.now - passStart < .milliseconds(1500) {
                let seen = try stub.requests().count
                let during = try await Self.start(client, phone: "+12025550126")
                #expect(try await app.built.worker.runOnce() == 1)
                let refused = try await Self.message(app, during)
                #expect(refused.status == .queued)
                #expect(refused.lastErrorCode == "rate_limited")
                #expect(refused.nextAttemptAt > app.clock.now())
                #expect(try stub.requests().count == seen, "no request goes to the provider during its pause")
            }

            // The second pass tried nothing else: the failed message is not retried.
            #expect(try await Self.message(app, invalid).attempts == 1)
            let numbers = Array(zip(goodIDs, good)) + [(invalid, "+12025550001"), (limited, "+12025550429")]
            try await Invariants.check(
                app, client, accepted: numbers.map(\.0), copies: try await Self.copies(app, stub, numbers), settled: false)
        }
    }

    @Test("SMSTransport marks a 429 and a 503 with Retry-After as pausing the provider, a 500 without it as not (F15)")
    func pausesProvider() async throws {
        let stub = try await ProviderStub.start()
        defer { stub.stop() }
        let transport = SMSTransport(gateway: Self.twilio(stub), client: CurlHTTPClient())
        func failure(_ to: String) async -> DeliveryError? {
            do {
                _ = try await transport.deliver(OutboundMessage(id: "msg_\(to.suffix(3))", channel: .sms, to: to, smsText: "Your code is 482913"))
                return nil
            } catch {
                return error
            }
        }
        for to in ["+15005550429", "+15005550503"] {
            let error = try #require(await failure(to), "\(to) must fail")
            #expect(error.kind != .permanent)
            #expect(error.pausesProvider, "\(to)")
            #expect(error.retryAfter == .seconds(3), "\(to)")
        }
        let error = try #require(await failure("+15005550500"))
        #expect(error.kind == .ambiguous)
        #expect(!error.pausesProvider)
        #expect(error.retryAfter == nil)
    }

    // MARK: 5xx (F14)

    @Test("gateway 5xx through the worker is retried, not failed: Kannel 503 and 500, Twilio 500, and Twilio 503's Retry-After sets the next attempt (F14)")
    func serverErrors() async throws {
        let stub = try await ProviderStub.start()
        defer { stub.stop() }
        let kannelApp = try await TestApp.make(smsGateway: Self.kannel(stub))
        defer { kannelApp.remove() }
        try await kannelApp.test { client in
            _ = try await client.makeAccount("acme")
            let unavailable = try await Self.start(client, phone: "+8613800000503")
            let broken = try await Self.start(client, phone: "+8613800000500")
            #expect(try await kannelApp.built.worker.runOnce() == 2)
            for (id, code) in [(unavailable, "kannel_503"), (broken, "kannel_500")] {
                let message = try await Self.message(kannelApp, id)
                #expect(message.status == .queued, "\(code)")
                #expect(message.attempts == 1)
                #expect(message.lastErrorCode == code)
                #expect(message.nextAttemptAt < message.expiresAt)
                #expect(try await Self.status(client, id) == "pending")
            }
            #expect(try Self.requests(stub, to: "+8613800000503").count == 1)
            #expect(try Self.requests(stub, to: "+8613800000500").count == 1)
        }

        let twilioApp = try await TestApp.make(smsGateway: Self.twilio(stub))
        defer { twilioApp.remove() }
        try await twilioApp.test { client in
            _ = try await client.makeAccount("acme")
            let broken = try await Self.start(client, phone: "+12025550500")
            #expect(try await twilioApp.built.worker.runOnce() == 1)
            let message = try await Self.message(twilioApp, broken)
            #expect(message.status == .queued)
            #expect(message.lastErrorCode == "twilio_20500")
            #expect(try await Self.status(client, broken) == "pending")

            // (A pass of its own: its pause would refuse messages sent after it.)
            let unavailable = try await Self.start(client, phone: "+12025550503")
            #expect(try await twilioApp.built.worker.runOnce() == 1)
            let paused = try await Self.message(twilioApp, unavailable)
            #expect(paused.status == .queued)
            #expect(paused.lastErrorCode == "twilio_20503")
            #expect(paused.nextAttemptAt.timeIntervalSince(twilioApp.clock.now()) >= 3, "Retry-After: 3 is obeyed")
            #expect(try Self.requests(stub, to: "+12025550503").count == 1)
        }
    }

    // MARK: Ambiguous answers (F17, F18, F19)

    @Test("a Twilio answer slower than the request timeout is ambiguous: retried once and sent, two requests for the one message with the same code (F17)")
    func timeoutAfterSending() async throws {
        try await Self.withTwilio(stubArguments: ["--slow-seconds", "2"], timeout: .milliseconds(500)) { app, client, stub in
            let id = try await Self.start(client, phone: "+12025550408")
            try await app.built.worker.runOnce()
            let first = try await Self.message(app, id)
            #expect(first.status == .queued)
            #expect(first.lastErrorCode == "http_ambiguous")
            #expect(try await Self.status(client, id) == "pending")
            #expect(try await client.metric("messages_ambiguous_total", #"channel="sms""#) == 1)

            app.clock.advance(by: 61)
            #expect(try await app.built.worker.runOnce() == 1)
            let second = try await Self.message(app, id)
            #expect(second.status == .sent)
            #expect(second.attempts == 2)

            let requests = try Self.requests(stub, to: "+12025550408")
            #expect(requests.count == 2, "the ambiguous send and its one retry")
            let callbacks = Set(requests.compactMap { $0.field("StatusCallback") })
            #expect(callbacks.count == 1, "both requests are for the same message")
            // (The text differs: "expires in N minutes" counts down between the attempts.)
            let codes = Set(try requests.map { try Self.code(in: try #require($0.field("Body"))) })
            #expect(codes.count == 1, "the duplicate carries the same code")
            let code = try #require(codes.first)
            #expect(try await client.check("acme", verification: id, code: code).string("status") == "approved")
            try await Invariants.check(
                app, client, accepted: [id], copies: try await Self.copies(app, stub, [(id, "+12025550408")]),
                ambiguous: [first.id: 1], settled: true)
        }
    }

    @Test("a Twilio 200 with an HTML page is not a success: queued as ambiguous twilio_unreadable_response, named by the body's masked hash (F18)")
    func htmlSuccess() async throws {
        try await Self.withTwilio { app, client, stub in
            let id = try await Self.start(client, phone: "+12025550200")
            #expect(try await app.built.worker.runOnce() == 1)
            let message = try await Self.message(app, id)
            #expect(message.status == .queued)
            #expect(message.lastErrorCode == "twilio_unreadable_response")
            #expect(message.lastErrorMessage?.contains("text/html; charset=utf-8, 72 bytes, body SHA-256 ") == true, "\(message.lastErrorMessage ?? "")")
            #expect(message.providerMessageID == nil)
            #expect(try await Self.status(client, id) == "pending")
            #expect(try Self.requests(stub, to: "+12025550200").map(\.status) == [200])
            #expect(try await client.metric("messages_ambiguous_total", #"channel="sms""#) == 1)
            try await Invariants.check(
                app, client, accepted: [id], copies: try await Self.copies(app, stub, [(id, "+12025550200")]),
                ambiguous: [message.id: 1], settled: false)
        }
    }

    @Test("a connection reset after half of Twilio's answer is ambiguous: retried and sent, two requests in all (F19)")
    func resetMidResponse() async throws {
        try await Self.withTwilio { app, client, stub in
            let id = try await Self.start(client, phone: "+12025550104")
            #expect(try await app.built.worker.runOnce() == 1)
            let first = try await Self.message(app, id)
            #expect(first.status == .queued)
            #expect(first.lastErrorCode == "http_ambiguous")
            #expect(first.lastErrorMessage?.lowercased().contains("reset") == true, "\(first.lastErrorMessage ?? "")")

            app.clock.advance(by: 61)
            #expect(try await app.built.worker.runOnce() == 1)
            let second = try await Self.message(app, id)
            #expect(second.status == .sent)
            #expect(second.attempts == 2)
            let requests = try Self.requests(stub, to: "+12025550104")
            #expect(requests.count == 2)
            #expect(Set(requests.compactMap { $0.field("StatusCallback") }).count == 1, "both requests are for the same message")
            try await Invariants.check(
                app, client, accepted: [id], copies: try await Self.copies(app, stub, [(id, "+12025550104")]),
                ambiguous: [first.id: 1], settled: true)
        }
    }
}

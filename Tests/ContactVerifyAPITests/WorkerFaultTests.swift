import ContactVerifyAPI
import ContactVerifyCore
import ContactVerifyDelivery
import Foundation
import TestServers
import Testing

/// Fault rows of docs/security.md driven through the outbox worker in-process (``TestApp``,
/// its ``ManualWallClock`` and `drain()`), with the libcurl SMTP transport against a real
/// Postfix smtp-sink: an ambiguous reply (F10/F11), an outage longer than the code's lifetime
/// and an unresolvable relay (F25/F13), wall-clock steps (F26), a 5xx that must not be retried
/// (F8) and a TLS handshake against a plain port (F12).
@Suite("Outbox worker faults (SMTP)")
struct WorkerFaultTests {
    typealias SMTP = SMTPDeliveryTests

    // MARK: F10/F11: the reply to the final dot never arrives in time

    @Test("a 250 after the final dot slower than the timeout is ambiguous and counted; the retry carries the same code, at most two copies")
    func ambiguousReplyThroughWorker() async throws {
        // -W .:5 holds the reply to the final "." for 5 s; the client gives up after 1 s, with
        // the whole message already handed over.
        let slow = try await SMTPSink.start(["-W", ".:5"])
        defer { slow.remove() }
        let transport = try SMTPTransport(SMTP.plain(slow, timeout: 1))
        let app = try await TestApp.make { $0.emailTransport = transport }
        defer { app.remove() }
        try await app.test { client in
            let contact = try await SMTP.setUp(client)
            let id = try await SMTP.start(client, contact: contact)
            #expect(try await Self.ambiguousCount(client) == 0)
            try await app.deliver()

            let first = try await SMTP.delivery(client, id)
            #expect(first.verification == "pending")
            #expect(first.status == "queued")
            #expect(first.attempts == 1)
            #expect(first.errorCode == "smtp_reply_lost", "\(first.errorMessage ?? "")")
            #expect(try await Self.ambiguousCount(client) == 1, "messages_ambiguous_total{channel=\"email\"}")

            // smtp-sink dumped the transaction on reading the final dot, before its delayed
            // 250: the server has the message although the client saw no reply (the ambiguous
            // case is real), and this is the one extra copy the row allows.
            let slowCopies = try await Self.waitForMessages(slow, count: 1)
            let healthy = try await SMTP.recovered(slow)
            defer { healthy.remove() }
            app.clock.advance(by: 61)  // past the first backoff (at most 2 s), well inside the code's 10 minutes
            try await app.deliver()

            let second = try await SMTP.delivery(client, id)
            #expect(second.status == "sent")
            #expect(second.attempts == 2)
            #expect(try await Self.ambiguousCount(client) == 1, "the successful retry is not counted as ambiguous")
            let copies = try slowCopies + healthy.messages()
            #expect((1...2).contains(copies.count), "at most one extra copy: \(copies.count)")
            #expect(try healthy.messages().count == 1)
            let codes = Set(try copies.map { try $0.code() })
            #expect(codes.count == 1, "every copy carries the same code")
            let ids = Set(copies.flatMap { $0.header("Message-ID") })
            #expect(ids.count == 1, "every copy has the message's one Message-ID: \(ids)")
            let code = try #require(codes.first)
            let checked = try await client.check("acme", verification: id, code: code)
            #expect(checked.status == .ok && checked.string("status") == "approved", "\(checked.text)")
            let message = try #require(try await app.built.store.latestMessage(verificationID: id))
            try await Invariants.check(
                app, client, accepted: [id], copies: Invariants.copies(of: copies), ambiguous: [message.id: 1], settled: true)
        }
    }

    // MARK: F25/F13: an outage longer than the code's lifetime; an unresolvable relay

    @Test("a 4xx through the whole lifetime ends expired, nothing is sent late, and a new verification is delivered")
    func outageLongerThanLifetime() async throws {
        try await SMTP.afterFirstSend(["-r", "RCPT"]) { app, client, failing, contact, id in
            #expect(try await SMTP.delivery(client, id).status == "queued")

            // 60 s steps (every retry of the 2–60 s schedule is due after each) until past the
            // 600 s lifetime; every attempt meets the 450 on RCPT.
            for _ in 0..<11 {
                app.clock.advance(by: 60)
                try await app.deliver()
            }
            let ended = try await SMTP.delivery(client, id)
            #expect(ended.verification == "expired")
            #expect(ended.status == "expired")
            #expect(ended.errorCode == "smtp_450", "the last attempt's reply stays visible: \(ended.errorMessage ?? "")")
            let attempts = try #require(ended.attempts)
            #expect(attempts >= 5, "retried through the lifetime, not given up early: \(attempts) attempts")
            let contactReply = try await client.call(.get, "/v1/accounts/acme/contacts/\(contact)")
            #expect(Self.member(contactReply, "email", "status") == .string("not_verified"), "\(contactReply.text)")

            // The server recovers: the expired message is never sent late.
            let healthy = try await SMTP.recovered(failing)
            defer { healthy.remove() }
            app.clock.advance(by: 60)
            try await app.deliver()
            #expect(try healthy.messages().isEmpty, "an expired code was delivered")
            #expect(try await SMTP.delivery(client, id).attempts == attempts)

            // The caller can start again, and the new code arrives and approves.
            let again = try await client.startVerification("acme", contact: contact, #"{"channel":"email"}"#)
            #expect(again.status == .accepted, "\(again.text)")
            let newID = try #require(again.string("id"))
            #expect(newID != id)
            try await app.deliver()
            let mails = try healthy.messages()
            #expect(mails.count == 1)
            let mail = try #require(mails.first)
            #expect(try await client.check("acme", verification: newID, code: mail.code()).string("status") == "approved")
            try await Invariants.check(
                app, client, accepted: [id, newID], copies: Invariants.copies(of: try failing.messages() + mails), settled: true)
        }
    }

    @Test("an unresolvable relay name is a transient smtp_connect_failed: the message stays queued")
    func unresolvableRelay() async throws {
        let configuration = try SMTPConfiguration.parse(
            url: "smtp://relay.invalid:2525", tls: "none", from: SMTP.from, helo: SMTP.helo, timeoutSeconds: 5)
        let transport = try SMTPTransport(configuration)
        do {
            _ = try await transport.send(Array("Subject: test\r\n\r\nhello\r\n".utf8), to: "ann@example.com")
            Issue.record("delivered to relay.invalid")
        } catch {
            #expect(error.kind == .transient, "\(error)")
            #expect(error.code == "smtp_connect_failed", "\(error)")
        }
        let delivery = try await SMTP.deliverOnce(through: transport)
        #expect(delivery.verification == "pending")
        #expect(delivery.status == "queued")
        #expect(delivery.attempts == 1)
        #expect(delivery.errorCode == "smtp_connect_failed", "\(delivery.errorMessage ?? "")")
    }

    // MARK: F26: wall-clock steps

    @Test("an expired code stays expired after the clock steps back an hour: 410 verification_expired")
    func stepBackAfterExpiry() async throws {
        try await SMTP.afterFirstSend { app, client, sink, _, id in
            let code = try #require(try sink.messages().first).code()

            app.clock.advance(by: 601)
            try await app.deliver()  // the worker's sweep marks it expired
            #expect(try await SMTP.delivery(client, id).verification == "expired")
            app.clock.advance(by: -3600)
            let late = try await client.check("acme", verification: id, code: code)
            #expect(late.status == .gone && late.code == "verification_expired", "\(late.text)")
            #expect(try await SMTP.delivery(client, id).verification == "expired")
        }
    }

    @Test("a code whose lifetime the clock passed is refused after a step back, even before any sweep marked it expired")
    func stepBackBeforeSweep() async throws {
        try await SMTP.afterFirstSend { app, client, sink, contact, id in
            let code = try #require(try sink.messages().first).code()

            // Past expiry, then an hour back before any worker pass or check saw the late time:
            // the clock now reads 50 minutes before the verification was created.
            app.clock.advance(by: 601)
            app.clock.advance(by: -3600)
            let late = try await client.check("acme", verification: id, code: code)
            #expect(late.status == .gone && late.code == "verification_expired", "\(late.text)")
            let after = try await SMTP.delivery(client, id)
            #expect(after.verification == "expired")
            let contactReply = try await client.call(.get, "/v1/accounts/acme/contacts/\(contact)")
            #expect(Self.member(contactReply, "email", "status") == .string("not_verified"), "\(contactReply.text)")
        }
    }

    @Test("a link whose lifetime the clock passed is invalid after a step back: the page and the confirmation answer 404")
    func linkAfterStepBack() async throws {
        try await SMTP.afterFirstSend(method: "link") { app, client, sink, contact, id in
            let token = try #require(try sink.messages().first).linkToken()

            app.clock.advance(by: 601)
            app.clock.advance(by: -3600)
            let page = try await client.call(.get, "/verify/\(token)", key: "")
            #expect(page.status == .notFound, "the confirm page is offered for a run-out link")
            let confirmed = try await client.call(.post, "/v1/links/\(token)/confirm", key: "")
            #expect(confirmed.status == .notFound && confirmed.code == "link_invalid", "\(confirmed.text)")
            // A spent link is refused without a change (VerificationRules.linkIsSpent), so the
            // verification stays pending until the sweep passes its expiry: never approved.
            #expect(try await SMTP.delivery(client, id).verification == "pending")
            let contactReply = try await client.call(.get, "/v1/accounts/acme/contacts/\(contact)")
            #expect(Self.member(contactReply, "email", "status") == .string("pending"), "\(contactReply.text)")
        }
    }

    @Test("after a step back past a verification's creation, starting again makes a new verification instead of resending the stale one")
    func stepBackThenStartAgain() async throws {
        try await SMTP.afterFirstSend { app, client, sink, contact, id in
            let staleCode = try #require(try sink.messages().first).code()

            // A resend would carry the stale code, which the check refuses (above).
            app.clock.advance(by: 601)
            app.clock.advance(by: -3600)
            let again = try await client.startVerification("acme", contact: contact, #"{"channel":"email"}"#)
            #expect(again.status == .accepted, "\(again.text)")
            let newID = try #require(again.string("id"))
            #expect(newID != id, "the stale verification was resent")
            try await app.deliver()
            let codes = try sink.messages().map { try $0.code() }
            #expect(codes.count == 2)
            // Dumps of one second sort in random order: the new code is the other one.
            let code = try #require(codes.first { $0 != staleCode }, "the new message carries the stale code")
            let checked = try await client.check("acme", verification: newID, code: code)
            #expect(checked.status == .ok && checked.string("status") == "approved", "\(checked.text)")
        }
    }

    @Test("a queued retry whose clock steps forward an hour is expired, not sent")
    func stepForwardQueuedRetry() async throws {
        try await SMTP.afterFirstSend(["-r", "RCPT"]) { app, client, failing, _, id in
            #expect(try await SMTP.delivery(client, id).status == "queued")

            let healthy = try await SMTP.recovered(failing)
            defer { healthy.remove() }
            app.clock.advance(by: 3600)
            try await app.deliver()
            #expect(try healthy.messages().isEmpty, "sent after the clock passed its expiry")
            let delivery = try await SMTP.delivery(client, id)
            #expect(delivery.verification == "expired")
            #expect(delivery.status == "expired")
            #expect(delivery.attempts == 1)
        }
    }

    // MARK: F11 / R-5: no send that could end after the code's expiry

    @Test(
        "a retry is started only if the longest send ends before the code expires: 40 s left is sent, 30 s left is expired (longest send 35 s)",
        arguments: [(560.0, true), (570.0, false)])
    func longestSendFitsLifetime(elapsed: Double, sent: Bool) async throws {
        try await SMTP.afterFirstSend(["-r", "RCPT"], configure: { $0.longestSend = 35 }) { app, client, failing, _, id in
            let queued = try await SMTP.delivery(client, id)
            #expect(queued.status == "queued")
            let attempts = try #require(queued.attempts)

            let healthy = try await SMTP.recovered(failing)
            defer { healthy.remove() }
            app.clock.advance(by: elapsed)  // of the code's 600 s
            try await app.deliver()
            let delivery = try await SMTP.delivery(client, id)
            if sent {
                #expect(try await Self.waitForMessages(healthy, count: 1).count == 1)
                #expect(delivery.status == "sent")
                #expect(delivery.attempts == attempts + 1)
            } else {
                #expect(try healthy.messages().isEmpty, "started a send that could end after the expiry")
                #expect(delivery.status == "expired")
            }
        }
    }

    // MARK: F8: a 5xx is final

    @Test("after a 5xx the contact is not_verified, and a later pass against a healthy server sends nothing")
    func permanentFailureIsFinal() async throws {
        try await SMTP.afterFirstSend(["-f", "RCPT", "-B", "550 5.1.1 <ann@example.com>: no such user"]) { app, client, rejecting, contact, id in
            let failed = try await SMTP.delivery(client, id)
            #expect(failed.verification == "failed")
            #expect(failed.status == "failed")
            #expect(failed.attempts == 1)
            #expect(failed.errorCode == "smtp_550")
            let contactReply = try await client.call(.get, "/v1/accounts/acme/contacts/\(contact)")
            #expect(Self.member(contactReply, "email", "status") == .string("not_verified"), "\(contactReply.text)")

            let healthy = try await SMTP.recovered(rejecting)
            defer { healthy.remove() }
            app.clock.advance(by: 61)
            try await app.deliver()
            #expect(try healthy.messages().isEmpty, "a permanently failed message was retried")
            let after = try await SMTP.delivery(client, id)
            #expect(after.status == "failed")
            #expect(after.attempts == 1)
            try await Invariants.check(
                app, client, accepted: [id], copies: Invariants.copies(of: try rejecting.messages() + healthy.messages()), settled: true)
        }
    }

    // MARK: F12: a TLS handshake that fails outright

    @Test("smtps:// to a plain SMTP port fails the handshake: transient smtp_tls_failed, counted for an alert, nothing sent")
    func implicitTLSToPlainPort() async throws {
        let sink = try await SMTPSink.start()
        defer { sink.remove() }
        let configuration = try SMTPConfiguration.parse(
            url: "smtps://127.0.0.1:\(sink.port)", from: SMTP.from, helo: SMTP.helo, timeoutSeconds: 5)
        let transport = try SMTPTransport(configuration)
        do {
            _ = try await transport.send(Array("Subject: test\r\n\r\nhello\r\n".utf8), to: "ann@example.com")
            Issue.record("delivered over a failed handshake")
        } catch {
            #expect(error.kind == .transient, "\(error)")
            #expect(error.code == "smtp_tls_failed", "\(error)")
        }
        let delivery = try await SMTP.deliverOnce(through: transport)
        #expect(delivery.verification == "pending")
        #expect(delivery.status == "queued")
        #expect(delivery.errorCode == "smtp_tls_failed", "\(delivery.errorMessage ?? "")")
        #expect(delivery.tlsFailures == 1, "delivery_tls_failures_total{channel=\"email\"}")
        #expect(try sink.messages().isEmpty, "no cleartext transaction")
    }

    // MARK: Helpers

    /// `messages_ambiguous_total{channel="email"}` on /metrics (0 before the first increment).
    static func ambiguousCount(_ client: Client) async throws -> Double {
        try await client.metric("messages_ambiguous_total", #"channel="email""#)
    }

    /// Polls `sink` until it has dumped `count` transactions (10 s at most).
    static func waitForMessages(_ sink: SMTPSink, count: Int) async throws -> [ReceivedMail] {
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            let mails = try sink.messages()
            if mails.count >= count { return mails }
            try await Task.sleep(for: .milliseconds(50))
        }
        let mails = try sink.messages()
        #expect(mails.count >= count, "smtp-sink dumped \(mails.count) of \(count) transactions")
        return mails
    }

    /// A nested member of a JSON reply (`member(reply, "email", "status")`).
    static func member(_ reply: Client.Reply, _ keys: String...) -> JSONValue? {
        var value: JSONValue? = reply.json
        for key in keys {
            guard case .object(let object)? = value else { return nil }
            value = object[key]
        }
        return value
    }
}

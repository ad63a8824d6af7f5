import ContactVerifyCore
import ContactVerifyDelivery
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

@Suite("Verifications API")
struct VerificationsAPITests {
    static let ann = #"{"name":"Ann","email":"ann@example.com","phone":"+8613800138000"}"#

    /// An account `acme` with contact Ann; returns the contact id.
    static func setUp(_ client: Client) async throws -> String {
        _ = try await client.makeAccount("acme", region: "CN")
        return try await client.makeContact("acme", ann)
    }

    static func status(_ client: Client, contact: String, _ channel: String) async throws -> String? {
        let reply = try await client.call(.get, "/v1/accounts/acme/contacts/\(contact)")
        guard case .object(let address)? = reply[channel], case .string(let status)? = address["status"] else { return nil }
        return status
    }

    @Test("an email code: 202 queued, address pending, delivered, approved by the right code, address verified")
    func emailCode() async throws {
        let app = try await TestApp.make()
        defer { app.remove() }
        try await app.test { client in
            let contact = try await Self.setUp(client)
            let started = try await client.startVerification("acme", contact: contact)
            #expect(started.status == .accepted)
            #expect(started.string("status") == "pending")
            #expect(started.string("method") == "code")
            #expect(started.string("to") == "a***@example.com")
            #expect(started["attemptsRemaining"] == .number("5"))
            let id = try #require(started.string("id"))
            #expect(try await Self.status(client, contact: contact, "email") == "pending")

            try await app.deliver()
            let code = try app.outbox.lastCode(to: "ann@example.com")
            #expect(code.count == 6)
            let read = try await client.call(.get, "/v1/accounts/acme/verifications/\(id)")
            guard case .object(let delivery)? = read["delivery"] else { Issue.record("no delivery"); return }
            #expect(delivery["status"] == .string("sent"))
            #expect(delivery["attempts"] == .number("1"))

            let checked = try await client.check("acme", verification: id, code: code)
            #expect(checked.status == .ok)
            #expect(checked.string("status") == "approved")
            let contactReply = try await client.call(.get, "/v1/accounts/acme/contacts/\(contact)")
            guard case .object(let email)? = contactReply["email"] else { Issue.record("no email"); return }
            #expect(email["status"] == .string("verified"))
            #expect(email["verifiedAt"] != .null)

            let again = try await client.startVerification("acme", contact: contact)
            #expect(again.status == .conflict)
            #expect(again.code == "already_verified")

            // Prometheus text: `name{labels} value`, values compared as numbers.
            let metrics = try await client.call(.get, "/metrics", key: "").text
            let samples = Dictionary(
                metrics.split(separator: "\n").filter { !$0.hasPrefix("#") }.compactMap { line -> (String, Double)? in
                    guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { return nil }
                    return (String(line[..<space]), value)
                }, uniquingKeysWith: { $1 })
            let expected: [String: Double] = [
                #"verifications_total{event="started"}"#: 1, #"verifications_total{event="approved"}"#: 1,
                #"messages_total{channel="email",provider="file",outcome="sent"}"#: 1, "outbox_depth": 0, "hashing_jobs_running": 0, "hashing_jobs_waiting": 0,
            ]
            for (name, value) in expected {
                #expect(samples[name] == value, "\(name)")
            }
        }
    }

    @Test("the outbox window: 8 a connection, 64 to 1,024; a worker pass claims at most outboxWindow messages")
    func outboxWindow() async throws {
        #expect(OutboxWorker.window(connections: 0) == 64 && OutboxWorker.window(connections: 8) == 64, "the default 4 + 4")
        #expect(OutboxWorker.window(connections: 32) == 256 && OutboxWorker.window(connections: 500) == 1_024)
        let app = try await TestApp.make { $0.outboxWindow = 3 }
        defer { app.remove() }
        try await app.test { client in
            _ = try await client.makeAccount("acme", region: "CN")
            for i in 0..<5 {
                let contact = try await client.makeContact("acme", #"{"name":"C\#(i)","email":"c\#(i)@example.com"}"#)
                #expect(try await client.startVerification("acme", contact: contact).status == .accepted)
            }
            #expect(try await app.built.worker.runOnce() == 3)
            #expect(try await app.built.worker.runOnce() == 2)
            #expect(try await app.built.worker.runOnce() == 0)
        }
    }

    @Test("five wrong codes count down, then max_attempts_reached even for the right code")
    func wrongCodes() async throws {
        let app = try await TestApp.make()
        defer { app.remove() }
        try await app.test { client in
            let contact = try await Self.setUp(client)
            let id = try #require(try await client.startVerification("acme", contact: contact).string("id"))
            try await app.deliver()
            let code = try app.outbox.lastCode(to: "ann@example.com")
            let wrong = code == "000000" ? "111111" : "000000"
            for remaining in (0..<5).reversed() {
                let reply = try await client.check("acme", verification: id, code: wrong)
                if remaining > 0 {
                    #expect(reply.status == .unprocessableContent)
                    #expect(reply.code == "code_mismatch")
                    #expect(reply["attemptsRemaining"] == .number(String(remaining)))
                } else {
                    #expect(reply.status == .tooManyRequests)
                    #expect(reply.code == "max_attempts_reached")
                }
            }
            let right = try await client.check("acme", verification: id, code: code)
            #expect(right.status == .tooManyRequests || right.status == .gone)
            #expect(try await client.call(.get, "/v1/accounts/acme/verifications/\(id)").string("status") == "max_attempts_reached")
            #expect(try await Self.status(client, contact: contact, "email") == "not_verified")
        }
    }

    @Test("a code must be a JSON string of ASCII digits", arguments: [
        (#"123456"#, "wrong_type"), (#"" 123456""#, "invalid_code_format"), (#""123456 ""#, "invalid_code_format"),
        (#""１２３４５６""#, "invalid_code_format"), (#""١٢٣٤٥٦""#, "invalid_code_format"), (#""12345a""#, "invalid_code_format"),
        (#""123""#, "invalid_code_format"), (#"null"#, "wrong_type"), (#"["123456"]"#, "wrong_type"),
    ])
    func codeFormat(code: String, expected: String) async throws {
        let app = try await TestApp.make()
        defer { app.remove() }
        try await app.test { client in
            let contact = try await Self.setUp(client)
            let id = try #require(try await client.startVerification("acme", contact: contact).string("id"))
            let reply = try await client.check("acme", verification: id, code: code, raw: true)
            #expect(reply.status == .badRequest, "\(reply.text)")
            #expect(reply.errorFields == ["code"])
            #expect(reply.text.contains(expected))
            // A malformed code does not use up an attempt.
            #expect(try await client.call(.get, "/v1/accounts/acme/verifications/\(id)")["attemptsRemaining"] == .number("5"))
        }
    }

    @Test("a resend carries the same code after a doubling cooldown, up to five sends")
    func resend() async throws {
        let app = try await TestApp.make()
        defer { app.remove() }
        try await app.test { client in
            let contact = try await Self.setUp(client)
            let id = try #require(try await client.startVerification("acme", contact: contact).string("id"))
            try await app.deliver()
            let code = try app.outbox.lastCode(to: "ann@example.com")

            let early = try await client.startVerification("acme", contact: contact)
            #expect(early.status == .tooManyRequests)
            #expect(early.code == "resend_cooldown")
            #expect(early.headers[.retryAfter] == "30")

            var cooldown = 30.0
            for send in 2...5 {
                app.clock.advance(by: cooldown)
                let reply = try await client.startVerification("acme", contact: contact)
                #expect(reply.status == .accepted, "\(reply.text)")
                #expect(reply.string("id") == id)
                #expect(reply["sendCount"] == .number(String(send)))
                try await app.deliver()
                #expect(try app.outbox.lastCode(to: "ann@example.com") == code)
                cooldown *= 2
            }
            #expect(try app.outbox.emails().count == 5)
            app.clock.advance(by: 1)  // the cap applies before any cooldown, and the code is still valid
            let capped = try await client.startVerification("acme", contact: contact)
            #expect(capped.status == .tooManyRequests)
            #expect(capped.code == "send_limit_reached")
            #expect(capped.headers[.retryAfter] != nil)
            #expect(try await client.check("acme", verification: id, code: code).string("status") == "approved")
        }
    }

    @Test("an expired verification is gone and its address is no longer pending")
    func expiry() async throws {
        let app = try await TestApp.make()
        defer { app.remove() }
        try await app.test { client in
            let contact = try await Self.setUp(client)
            let id = try #require(try await client.startVerification("acme", contact: contact).string("id"))
            try await app.deliver()
            let code = try app.outbox.lastCode(to: "ann@example.com")
            app.clock.advance(by: 601)
            let late = try await client.check("acme", verification: id, code: code)
            #expect(late.status == .gone)
            #expect(late.code == "verification_expired")
            try await app.deliver()
            #expect(try await client.call(.get, "/v1/accounts/acme/verifications/\(id)").string("status") == "expired")
            #expect(try await Self.status(client, contact: contact, "email") == "not_verified")
        }
    }

    @Test("cancel ends a pending verification once; its code stops working")
    func cancel() async throws {
        let app = try await TestApp.make()
        defer { app.remove() }
        try await app.test { client in
            let contact = try await Self.setUp(client)
            let id = try #require(try await client.startVerification("acme", contact: contact).string("id"))
            try await app.deliver()
            let code = try app.outbox.lastCode(to: "ann@example.com")
            let canceled = try await client.call(.post, "/v1/accounts/acme/verifications/\(id)/cancel")
            #expect(canceled.status == .ok)
            #expect(canceled.string("status") == "canceled")
            let twice = try await client.call(.post, "/v1/accounts/acme/verifications/\(id)/cancel")
            #expect(twice.status == .conflict)
            #expect(twice.code == "verification_not_pending")
            let check = try await client.check("acme", verification: id, code: code)
            #expect(check.status == .gone)
            #expect(check.code == "verification_canceled")
            #expect(try await Self.status(client, contact: contact, "email") == "not_verified")
        }
    }

    @Test("changing the address or deleting the contact cancels what is open")
    func addressChangeCancels() async throws {
        let app = try await TestApp.make()
        defer { app.remove() }
        try await app.test { client in
            let contact = try await Self.setUp(client)
            let id = try #require(try await client.startVerification("acme", contact: contact).string("id"))
            let patched = try await client.call(.patch, "/v1/accounts/acme/contacts/\(contact)", body: #"{"email":"ann2@example.com"}"#)
            #expect(patched.status == .ok)
            #expect(try await client.call(.get, "/v1/accounts/acme/verifications/\(id)").string("status") == "canceled")
            try await app.deliver()
            #expect(try app.outbox.emails().isEmpty, "a canceled verification's message is not sent")

            let sms = try #require(
                try await client.startVerification("acme", contact: contact, #"{"channel":"sms"}"#).string("id"))
            let deleted = try await client.call(.delete, "/v1/accounts/acme/contacts/\(contact)")
            #expect(deleted.status == .noContent)
            let after = try await client.call(.get, "/v1/accounts/acme/verifications/\(sms)")
            #expect(after.status == .notFound || after.string("status") == "canceled")
            try await app.deliver()
            #expect(try app.outbox.sms().isEmpty)
        }
    }

    @Test("start refuses what cannot be sent", arguments: [
        (#"{"name":"Bob","email":"bob@example.com"}"#, #"{"channel":"sms"}"#, "no_address"),
        (#"{"name":"Bob","phone":"010 6552 9988"}"#, #"{"channel":"sms"}"#, "not_mobile"),
        (#"{"name":"Bob","email":"bob@example.com"}"#, #"{"channel":"fax"}"#, "validation_failed"),
        (#"{"name":"Bob","email":"bob@example.com"}"#, #"{"channel":"email","method":"carrier-pigeon"}"#, "validation_failed"),
        (#"{"name":"Bob","email":"bob@example.com"}"#, #"{"channel":"email","extra":1}"#, "validation_failed"),
    ])
    func refusals(contactBody: String, body: String, code: String) async throws {
        let app = try await TestApp.make()
        defer { app.remove() }
        try await app.test { client in
            _ = try await client.makeAccount("acme", region: "CN")
            let contact = try await client.makeContact("acme", contactBody)
            let reply = try await client.startVerification("acme", contact: contact, body)
            #expect(reply.status == .badRequest, "\(reply.text)")
            #expect(reply.code == code)
            #expect(!reply.errorFields.isEmpty)
            try await app.deliver()
            #expect(try app.outbox.all().isEmpty)
        }
    }

    @Test("an account's country allow-list refuses SMS to other countries, and email is not limited by it")
    func countryAllowList() async throws {
        let app = try await TestApp.make()
        defer { app.remove() }
        try await app.test { client in
            _ = try await client.makeAccount("acme", region: "CN")
            let put = try await client.call(
                .put, "/v1/accounts/acme", body: #"{"displayName":"acme","defaultRegion":"CN","allowedCountries":["US"]}"#)
            #expect(put.status == .ok, "\(put.text)")
            let china = try await client.makeContact("acme", Self.ann)
            let refused = try await client.startVerification("acme", contact: china, #"{"channel":"sms"}"#)
            #expect(refused.status == .badRequest, "\(refused.text)")
            #expect(refused.code == "country_not_allowed")
            #expect(refused.errorFields == ["channel"])
            #expect(try await client.startVerification("acme", contact: china, #"{"channel":"email"}"#).status == .accepted)
            let us = try await client.makeContact("acme", #"{"name":"Sam","phone":"+16502530000"}"#)
            let allowed = try await client.startVerification("acme", contact: us, #"{"channel":"sms"}"#)
            #expect(allowed.status == .accepted, "\(allowed.text)")
            try await app.deliver()
            #expect(try app.outbox.emails().map(\.to) == ["ann@example.com"])
            #expect(try app.outbox.sms().map(\.to) == ["+16502530000"])
        }
    }

    @Test("per-address and per-account SMS caps answer 429 with Retry-After")
    func sendCaps() async throws {
        let app = try await TestApp.make()
        defer { app.remove() }
        try await app.test { client in
            let contact = try await Self.setUp(client)
            // Ten sends to one address in 24 hours: new verifications, each canceled in between.
            for _ in 0..<10 {
                let reply = try await client.startVerification("acme", contact: contact)
                #expect(reply.status == .accepted)
                let id = try #require(reply.string("id"))
                #expect(try await client.call(.post, "/v1/accounts/acme/verifications/\(id)/cancel").status == .ok)
            }
            let capped = try await client.startVerification("acme", contact: contact)
            #expect(capped.status == .tooManyRequests)
            #expect(capped.code == "address_send_limit_reached")
            #expect(capped.headers[.retryAfter] != nil)

            let put = try await client.call(.put, "/v1/accounts/acme", body: #"{"displayName":"acme","defaultRegion":"CN","dailySmsLimit":1}"#)
            #expect(put.status == .ok, "\(put.text)")
            #expect(try await client.startVerification("acme", contact: contact, #"{"channel":"sms"}"#).status == .accepted)
            let other = try await client.makeContact("acme", #"{"name":"Cy","phone":"+8613900139000"}"#)
            let daily = try await client.startVerification("acme", contact: other, #"{"channel":"sms"}"#)
            #expect(daily.status == .tooManyRequests)
            #expect(daily.code == "daily_sms_limit_reached")
            #expect(daily.headers[.retryAfter] != nil)
        }
    }

    @Test("Idempotency-Key replays the first response, refuses another body, and scopes keys to the account")
    func idempotency() async throws {
        let app = try await TestApp.make()
        defer { app.remove() }
        try await app.test { client in
            let contact = try await Self.setUp(client)
            let headers: HTTPFields = [.init("Idempotency-Key")!: "start-1"]
            let path = "/v1/accounts/acme/contacts/\(contact)/verifications"
            let first = try await client.call(.post, path, body: #"{"channel":"email"}"#, headers: headers)
            let second = try await client.call(.post, path, body: #"{"channel":"email"}"#, headers: headers)
            #expect(first.status == .accepted)
            #expect(second.status == .accepted)
            #expect(second.body == first.body)
            #expect(second.headers[.init("Idempotent-Replayed")!] == "true")
            try await app.deliver()
            #expect(try app.outbox.emails().count == 1, "a replay sends nothing")

            let other = try await client.call(.post, path, body: #"{"channel":"sms"}"#, headers: headers)
            #expect(other.status == .unprocessableContent)
            #expect(other.code == "idempotency_key_reused")

            let bad = try await client.call(.post, path, body: #"{"channel":"email"}"#, headers: [.init("Idempotency-Key")!: "has space"])
            #expect(bad.status == .badRequest)
            #expect(bad.errorFields == ["Idempotency-Key"])

            // A failed request does not consume its key.
            let createHeaders: HTTPFields = [.init("Idempotency-Key")!: "create-1"]
            let invalid = try await client.call(.post, "/v1/accounts/acme/contacts", body: #"{"name":""}"#, headers: createHeaders)
            #expect(invalid.status == .badRequest)
            let valid = try await client.call(.post, "/v1/accounts/acme/contacts", body: #"{"name":"Dee","email":"dee@example.com"}"#, headers: createHeaders)
            #expect(valid.status == .created, "\(valid.text)")

            // After 24 hours the key is free again.
            app.clock.advance(by: 86_401)
            let fresh = try await client.call(.post, "/v1/accounts/acme/contacts", body: #"{"name":"Eve","email":"eve@example.com"}"#, headers: headers)
            #expect(fresh.status == .created)
        }
    }

    @Test("the same key still in flight is 409 idempotency_key_in_use")
    func idempotencyInFlight() async throws {
        let app = try await TestApp.make()
        defer { app.remove() }
        try await app.test { client in
            let contact = try await Self.setUp(client)
            let path = "/v1/accounts/acme/contacts/\(contact)/verifications"
            let body = #"{"channel":"email"}"#
            // Another request holds the key: claimed with this very request's fingerprint.
            let claim = try await app.built.store.claimIdempotencyKey(
                accountID: "acme", key: "busy", fingerprint: Idempotency.fingerprint(method: "POST", path: path, body: Array(body.utf8)),
                now: app.clock.now(), staleAfter: Idempotency.inFlightTimeout, retention: Idempotency.retention)
            #expect(claim == .proceed)
            let reply = try await client.call(.post, path, body: body, headers: [.init("Idempotency-Key")!: "busy"])
            #expect(reply.status == .conflict)
            #expect(reply.code == "idempotency_key_in_use")
            #expect(try await Self.status(client, contact: contact, "email") == "not_verified", "nothing was started")
            // A claim whose process died is taken over after the in-flight timeout.
            app.clock.advance(by: Idempotency.inFlightTimeout + 1)
            let retried = try await client.call(.post, path, body: body, headers: [.init("Idempotency-Key")!: "busy"])
            #expect(retried.status == .accepted)
        }
    }

    @Test("a message claimed by a worker that crashed is sent after its lease runs out")
    func crashedClaim() async throws {
        let app = try await TestApp.make()
        defer { app.remove() }
        try await app.test { client in
            let contact = try await Self.setUp(client)
            #expect(try await client.startVerification("acme", contact: contact).status == .accepted)
            // A worker claims the message and dies before sending it.
            let now = app.clock.now()
            let claimed = try await app.built.store.claimDueMessages(now: now, leaseUntil: now.addingTimeInterval(60), limit: 10)
            #expect(claimed.count == 1)
            try await app.deliver()
            #expect(try app.outbox.emails().isEmpty, "the lease holds the message")
            app.clock.advance(by: 61)
            try await app.deliver()
            #expect(try app.outbox.emails().count == 1)
            #expect(try app.outbox.lastCode(to: "ann@example.com").count == 6)
        }
    }

    @Test("the message language follows the request, then the contact, then the account, then en")
    func locales() async throws {
        let app = try await TestApp.make()
        defer { app.remove() }
        try await app.test { client in
            _ = try await client.makeAccount("acme", region: "CN")
            let chinese = try await client.makeContact("acme", #"{"name":"Li","email":"li@example.com","locale":"zh-CN"}"#)
            let english = try await client.makeContact("acme", #"{"name":"Al","email":"al@example.com"}"#)
            #expect(try await client.startVerification("acme", contact: chinese).status == .accepted)
            #expect(try await client.startVerification("acme", contact: english, #"{"channel":"email","locale":"zh-Hans-CN"}"#).status == .accepted)
            let other = try await client.makeContact("acme", #"{"name":"Bo","email":"bo@example.com","locale":"zh-CN"}"#)
            #expect(try await client.startVerification("acme", contact: other, #"{"channel":"email","locale":"en"}"#).status == .accepted)
            try await app.deliver()
            let emails = try app.outbox.emails()
            let text = { (to: String) in emails.first { $0.to == to }?.text ?? "" }
            #expect(text("li@example.com").contains("验证码"))
            #expect(text("al@example.com").contains("验证码"))
            #expect(!text("bo@example.com").contains("验证码"))
            #expect(text("bo@example.com").contains("code"))
        }
    }
}

import ContactVerifyAPI
import ContactVerifyCore
import Foundation
import HummingbirdTesting
import Logging
import Synchronization
import Testing

/// Design §4–5 and docs/security.md S-5, S-6, S-7/S-8, R-5: secrets never at rest or in logs,
/// single use under concurrency, no late delivery, limits kept in the store, binding to the
/// request, and the failure lock across resends.
@Suite("Verification safety")
struct VerificationSafetyTests {
    // MARK: 1. Secrets never leave the outbox

    @Test("no delivered code or link token is in the data folder (outside outbox/), the logs, /metrics or API replies")
    func secretScan() async throws {
        let recorder = SafetyLogRecorder()
        let logger = Logger(label: "contact-verify") { _ in SafetyRecordingLogHandler(recorder: recorder) }
        let app = try await SafetyApps.make(logger: logger)
        defer { app.remove() }

        let replies = try await app.test { client in
            var replies: [Client.Reply] = []
            func record(_ reply: Client.Reply) -> Client.Reply {
                replies.append(reply)
                return reply
            }
            let key = try await client.makeAccount("acme")
            let ann = try await client.makeContact("acme", key: key, #"{"name":"Ann","email":"ann@example.com"}"#)
            let bo = try await client.makeContact("acme", key: key, #"{"name":"Bo","phone":"+8613800138000"}"#)
            let cy = try await client.makeContact("acme", key: key, #"{"name":"Cy","email":"cy@example.com"}"#)

            // Email code: one wrong check, then the right one.
            let emailStart = record(try await client.startVerification("acme", contact: ann, key: key))
            #expect(emailStart.status == .accepted, "\(emailStart.text)")
            let emailID = try #require(emailStart.string("id"))
            try await app.deliver()
            let emailCode = try await SafetyOutbox.deliveredText(app, verification: emailID).code()
            let wrong = record(try await client.check("acme", verification: emailID, code: SafetyCodes.wrong(for: [emailCode]), key: key))
            #expect(wrong.status == .unprocessableContent && wrong.code == "code_mismatch", "\(wrong.text)")
            let right = record(try await client.check("acme", verification: emailID, code: emailCode, key: key))
            #expect(right.status == .ok && right.string("status") == "approved", "\(right.text)")

            // SMS code, resent after the cooldown (same code), then checked.
            let smsStart = record(try await client.startVerification("acme", contact: bo, key: key, #"{"channel":"sms"}"#))
            #expect(smsStart.status == .accepted, "\(smsStart.text)")
            let smsID = try #require(smsStart.string("id"))
            try await app.deliver()
            let smsCode = try await SafetyOutbox.deliveredText(app, verification: smsID).code()
            app.clock.advance(by: 31)
            let resend = record(try await client.startVerification("acme", contact: bo, key: key, #"{"channel":"sms"}"#))
            #expect(resend.status == .accepted && resend.string("id") == smsID && resend["sendCount"] == .number("2"), "\(resend.text)")
            try await app.deliver()
            #expect(try await SafetyOutbox.deliveredText(app, verification: smsID).code() == smsCode, "a resend carries the same code")
            let smsRight = record(try await client.check("acme", verification: smsID, code: smsCode, key: key))
            #expect(smsRight.status == .ok && smsRight.string("status") == "approved", "\(smsRight.text)")

            // Email link: the page (changes nothing), then the JSON confirmation.
            let linkStart = record(try await client.startVerification("acme", contact: cy, key: key, #"{"channel":"email","method":"link"}"#))
            #expect(linkStart.status == .accepted, "\(linkStart.text)")
            let linkID = try #require(linkStart.string("id"))
            try await app.deliver()
            let token = try await SafetyOutbox.deliveredText(app, verification: linkID).token()
            let page = try await client.call(.get, "/verify/\(token)", key: "")
            #expect(page.status == .ok && page.text.contains(#"name="nonce""#))
            let confirm = try await client.call(.post, "/v1/links/\(token)/confirm", key: "")
            #expect(confirm.status == .ok && confirm.string("status") == "verified", "\(confirm.text)")

            for id in [emailID, smsID, linkID] {
                _ = record(try await client.call(.get, "/v1/accounts/acme/verifications/\(id)", key: key))
            }
            for id in [ann, bo, cy] {
                _ = record(try await client.call(.get, "/v1/accounts/acme/contacts/\(id)", key: key))
            }
            _ = record(try await client.call(.get, "/v1/accounts/acme/contacts", key: key))
            return replies
        }
        let metrics = try await app.test { client in try await client.call(.get, "/metrics", key: "") }
        #expect(metrics.status == .ok)

        // Every secret the outbox delivered: codes from code messages, tokens from links.
        let delivered = try app.outbox.all()
        #expect(delivered.count == 4, "email code, SMS code twice, email link: \(delivered.map(\.to))")
        var codes = Set<String>()
        var tokens = Set<String>()
        for message in delivered {
            if let link = message.text.firstMatch(of: /\/verify\/([A-Za-z0-9_-]+)/) {
                tokens.insert(String(link.1))
            } else {
                let code = try #require(message.text.firstMatch(of: /\b(\d{4,10})\b/), "no code in: \(message.text)")
                codes.insert(String(code.1))
            }
        }
        #expect(codes.count == 2, "\(codes)")
        #expect(tokens.count == 1, "\(tokens)")
        #expect(tokens.allSatisfy { $0.utf8.count >= 22 })

        // The scanner is not vacuous: it finds each secret where it is meant to be.
        let outboxTexts = delivered.map { Array($0.text.utf8) }
        for code in codes {
            #expect(outboxTexts.contains { SafetyScan.containsDigitRun($0, code) }, "code not found in the outbox")
        }
        for token in tokens {
            #expect(outboxTexts.contains { SafetyScan.contains($0, Array(token.utf8)) }, "token not found in the outbox")
        }
        let smsFile = try #require(FileManager.default.contents(atPath: app.outboxDirectory + "/sms.jsonl"))
        #expect(codes.contains { SafetyScan.containsDigitRun(Array(smsFile), $0) }, "the SMS code is in sms.jsonl as written")

        // The data folder outside outbox/: the SQLite database, its -wal and -shm, secret.key.
        let dataFiles = try SafetyScan.files(under: app.dataDirectory, excluding: app.outboxDirectory)
        let names = Set(dataFiles.map { ($0.path as NSString).lastPathComponent })
        #expect(names.contains("contact-verify.sqlite") && names.contains("secret.key"), "\(names)")
        #expect(names.contains("contact-verify.sqlite-wal"), "the WAL is scanned too: \(names)")
        let allData = dataFiles.flatMap(\.bytes)
        #expect(SafetyScan.contains(allData, Array("cy@example.com".utf8)), "the database bytes are readable plaintext (scan not vacuous)")

        let logs = recorder.lines
        #expect(logs.count >= 10, "logs captured: \(logs.count)")
        #expect(logs.contains { $0.contains("http.route") }, "request logs captured")
        let logBytes = Array(logs.joined(separator: "\n").utf8)
        let apiBytes = Array(replies.map(\.text).joined(separator: "\n").utf8)

        let places: [(String, [UInt8])] =
            dataFiles.map { ("data file \($0.path)", $0.bytes) } + [("logs", logBytes), ("/metrics", metrics.body), ("API replies", apiBytes)]
        // (Booleans first, so that a failure names the place instead of dumping its bytes.)
        for (place, bytes) in places {
            for code in codes {
                let leaked = SafetyScan.containsDigitRun(bytes, code)
                #expect(!leaked, "a delivered code is in \(place)")
            }
            for token in tokens {
                let leakedText = SafetyScan.contains(bytes, Array(token.utf8))
                #expect(!leakedText, "a delivered link token is in \(place)")
                let raw = try #require(Base64URL.decode(token))
                let leakedRaw = SafetyScan.contains(bytes, raw)
                #expect(!leakedRaw, "a delivered link token's raw bytes are in \(place)")
            }
        }

        // The server secret never reaches the logs (nor /metrics).
        let secretFile = try #require(FileManager.default.contents(atPath: app.dataDirectory + "/secret.key"))
        let secretText = String(decoding: secretFile, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(secretText.count >= 64)
        let secretForms = [
            Array(secretFile), Array(secretText.lowercased().utf8), Array(secretText.uppercased().utf8),
            // Half the secret is a leak too.
            Array(secretText.lowercased().prefix(32).utf8), Array(secretText.lowercased().suffix(32).utf8),
        ]
        for (place, bytes) in [("logs", logBytes), ("/metrics", metrics.body)] {
            let leaked = secretForms.contains { SafetyScan.contains(bytes, $0) }
            #expect(!leaked, "the server secret (or half of it) is in \(place)")
        }
    }

    // MARK: 2–3. Single use under concurrency (S-5)

    @Test("50 concurrent checks of the right code: exactly one approves, the rest are 410 or 503 hashing_busy")
    func concurrentChecks() async throws {
        let app = try await TestApp.make()
        defer { app.remove() }
        try await app.test { client in
            let key = try await client.makeAccount("acme")
            let contact = try await client.makeContact("acme", key: key, #"{"name":"Ann","email":"ann@example.com"}"#)
            let start = try await client.startVerification("acme", contact: contact, key: key)
            #expect(start.status == .accepted)
            let id = try #require(start.string("id"))
            try await app.deliver()
            let code = try app.outbox.lastCode(to: "ann@example.com")
            #expect(try await SafetyOutbox.deliveredText(app, verification: id).code() == code)

            let replies = try await withThrowingTaskGroup(of: Client.Reply.self) { group in
                for _ in 0..<50 {
                    group.addTask { try await client.check("acme", verification: id, code: code, key: key) }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            let approved = replies.filter { $0.status == .ok }
            #expect(approved.count == 1, "\(replies.map { "\($0.status.code) \($0.code ?? "")" })")
            #expect(approved.allSatisfy { $0.string("status") == "approved" })
            let others = replies.filter { $0.status != .ok }
            let unexpected = others.filter {
                !(($0.status == .gone && $0.code == "verification_not_pending") || ($0.status == .serviceUnavailable && $0.code == "hashing_busy"))
            }
            #expect(unexpected.isEmpty, "\(unexpected.map { "\($0.status.code) \($0.text)" })")

            let verification = try await client.call(.get, "/v1/accounts/acme/verifications/\(id)", key: key)
            #expect(verification.string("status") == "approved")
            #expect(verification["attemptsRemaining"] == .number("5"), "a right code replayed is not a failed attempt")
            let got = try await client.call(.get, "/v1/accounts/acme/contacts/\(contact)", key: key)
            #expect(got.safetyMember("email", "status") == .string("verified"), "\(got.text)")
        }
    }

    @Test("50 concurrent link confirmations (JSON and form): exactly one verifies, the rest hear already verified")
    func concurrentLinkConfirmations() async throws {
        let app = try await TestApp.make()
        defer { app.remove() }
        try await app.test { client in
            let key = try await client.makeAccount("acme")
            let ann = try await client.makeContact("acme", key: key, #"{"name":"Ann","email":"ann@example.com"}"#)
            let bo = try await client.makeContact("acme", key: key, #"{"name":"Bo","email":"bo@example.com"}"#)
            for contact in [ann, bo] {
                let start = try await client.startVerification("acme", contact: contact, key: key, #"{"channel":"email","method":"link"}"#)
                #expect(start.status == .accepted, "\(start.text)")
            }
            try await app.deliver()
            let annToken = try app.outbox.lastToken(to: "ann@example.com")
            let boToken = try app.outbox.lastToken(to: "bo@example.com")

            // JSON confirmation.
            let json = try await withThrowingTaskGroup(of: Client.Reply.self) { group in
                for _ in 0..<50 {
                    group.addTask { try await client.call(.post, "/v1/links/\(annToken)/confirm", key: "") }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(json.allSatisfy { $0.status == .ok }, "\(json.filter { $0.status != .ok }.map(\.text))")
            #expect(json.filter { $0.string("status") == "verified" }.count == 1)
            #expect(json.filter { $0.string("status") == "already_verified" }.count == 49)

            // Form posts with the nonce of the page.
            let page = try await client.call(.get, "/verify/\(boToken)", key: "")
            #expect(page.status == .ok)
            let nonce = try #require(page.text.firstMatch(of: /name="nonce" value="([^"]+)"/).map { String($0.1) }, "\(page.text)")
            let forms = try await withThrowingTaskGroup(of: Client.Reply.self) { group in
                for _ in 0..<50 {
                    group.addTask {
                        try await client.call(
                            .post, "/verify/\(boToken)", key: "", body: "nonce=\(nonce)", contentType: "application/x-www-form-urlencoded")
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(forms.allSatisfy { $0.status == .ok }, "\(forms.filter { $0.status != .ok }.map(\.text))")
            let verifiedHeading = "&#10003; Verified</h1>"
            let alreadyHeading = "&#10003; Already verified</h1>"
            #expect(forms.filter { $0.text.contains(verifiedHeading) }.count == 1)
            #expect(forms.filter { $0.text.contains(alreadyHeading) }.count == 49)

            for contact in [ann, bo] {
                let got = try await client.call(.get, "/v1/accounts/acme/contacts/\(contact)", key: key)
                #expect(got.safetyMember("email", "status") == .string("verified"), "\(got.text)")
            }
        }
    }

    // MARK: 4. No late delivery (design §4, R-5)

    @Test("a code not delivered before its expiry is never delivered; the verification and message show expired")
    func noLateDelivery() async throws {
        let app = try await TestApp.make()
        defer { app.remove() }
        try await app.test { client in
            let key = try await client.makeAccount("acme")
            let contact = try await client.makeContact("acme", key: key, #"{"name":"Ann","email":"ann@example.com"}"#)
            let start = try await client.startVerification("acme", contact: contact, key: key)
            #expect(start.status == .accepted)
            let id = try #require(start.string("id"))
            #expect(start.safetyMember("delivery", "status") == .string("queued"), "\(start.text)")
            let pending = try await client.call(.get, "/v1/accounts/acme/contacts/\(contact)", key: key)
            #expect(pending.safetyMember("email", "status") == .string("pending"))

            app.clock.advance(by: 601)
            try await app.deliver()
            #expect(try app.outbox.emails().isEmpty, "an expired code was delivered")
            #expect(!FileManager.default.fileExists(atPath: app.outboxDirectory + "/email"), "no email file written")

            let got = try await client.call(.get, "/v1/accounts/acme/verifications/\(id)", key: key)
            #expect(got.string("status") == "expired", "\(got.text)")
            #expect(got.safetyMember("delivery", "status") == .string("expired"), "\(got.text)")
            let after = try await client.call(.get, "/v1/accounts/acme/contacts/\(contact)", key: key)
            #expect(after.safetyMember("email", "status") == .string("not_verified"), "\(after.text)")

            // Even the right code (never delivered) is refused now.
            let stored = try #require(try await app.built.store.verification(accountID: "acme", id: id))
            let code = app.built.secrets.secret(for: stored)
            let late = try await client.check("acme", verification: id, code: code, key: key)
            #expect(late.status == .gone && late.code == "verification_expired", "\(late.text)")

            try await app.deliver()
            #expect(try app.outbox.emails().isEmpty)
        }
    }

    // MARK: 5. Limits live in the store

    @Test("after a restart on the same data folder, the cooldown and attempts still hold and app 1's code approves")
    func limitsSurviveRestart() async throws {
        let clock = ManualWallClock()
        let first = try await SafetyApps.make(clock: clock)
        defer { first.remove() }
        let (key, contact, id, code) = try await first.test { client in
            let key = try await client.makeAccount("acme")
            let contact = try await client.makeContact("acme", key: key, #"{"name":"Ann","email":"ann@example.com"}"#)
            let start = try await client.startVerification("acme", contact: contact, key: key)
            #expect(start.status == .accepted)
            let id = try #require(start.string("id"))
            try await first.deliver()
            let code = try first.outbox.lastCode(to: "ann@example.com")
            let wrong = try await client.check("acme", verification: id, code: SafetyCodes.wrong(for: [code]), key: key)
            #expect(wrong.status == .unprocessableContent && wrong["attemptsRemaining"] == .number("4"), "\(wrong.text)")
            return (key, contact, id, code)
        }
        let secretBefore = FileManager.default.contents(atPath: first.dataDirectory + "/secret.key")

        let second = try await SafetyApps.make(directory: first.dataDirectory, clock: clock, adminKey: first.adminKey)
        #expect(FileManager.default.contents(atPath: second.dataDirectory + "/secret.key") == secretBefore, "the secret file is reused")
        try await second.test { client in
            let resend = try await client.startVerification("acme", contact: contact, key: key)
            #expect(resend.status == .tooManyRequests && resend.code == "resend_cooldown", "\(resend.text)")
            let retryAfter = try #require(resend.headers[.retryAfter].flatMap { Int($0) }, "Retry-After missing")
            #expect((1...30).contains(retryAfter), "Retry-After \(retryAfter)")

            let wrong = try await client.check("acme", verification: id, code: SafetyCodes.wrong(for: [code]), key: key)
            #expect(wrong.status == .unprocessableContent && wrong["attemptsRemaining"] == .number("3"), "\(wrong.text)")
            let right = try await client.check("acme", verification: id, code: code, key: key)
            #expect(right.status == .ok && right.string("status") == "approved", "\(right.text)")
            let got = try await client.call(.get, "/v1/accounts/acme/contacts/\(contact)", key: key)
            #expect(got.safetyMember("email", "status") == .string("verified"), "\(got.text)")
        }
    }

    // MARK: 6. Binding and tenant isolation (S-6, design §3)

    @Test("a code is bound to its verification; another account's key gets the 404 of a missing verification")
    func bindingAndIsolation() async throws {
        let app = try await TestApp.make()
        defer { app.remove() }
        try await app.test { client in
            let a = try await client.makeAccount("a")
            let b = try await client.makeAccount("b")
            let ann = try await client.makeContact("a", key: a, #"{"name":"Ann","email":"ann@example.com"}"#)
            let bo = try await client.makeContact("a", key: a, #"{"name":"Bo","email":"bo@example.com"}"#)

            let annStart = try await client.startVerification("a", contact: ann, key: a)
            let annID = try #require(annStart.string("id"))
            try await app.deliver()
            let annCode = try await SafetyOutbox.deliveredText(app, verification: annID).code()
            var boID = ""
            var boCode = annCode
            for _ in 0..<5 where boCode == annCode {  // two equal random codes: start Bo's again
                if !boID.isEmpty { _ = try await client.call(.post, "/v1/accounts/a/verifications/\(boID)/cancel", key: a) }
                let boStart = try await client.startVerification("a", contact: bo, key: a)
                boID = try #require(boStart.string("id"))
                try await app.deliver()
                boCode = try await SafetyOutbox.deliveredText(app, verification: boID).code()
            }
            try #require(boCode != annCode)

            // Cross-contact: Ann's right code on Bo's verification.
            let crossed = try await client.check("a", verification: boID, code: annCode, key: a)
            #expect(crossed.status == .unprocessableContent && crossed.code == "code_mismatch", "\(crossed.text)")
            #expect(crossed["attemptsRemaining"] == .number("4"))

            // Cross-account: account b's key on account a's verification, both through a's path
            // and through its own path, against a verification id that does not exist.
            let missing = Verification.makeID()
            for account in ["a", "b"] {
                let base = "/v1/accounts/\(account)/verifications"
                let pairs: [(Client.Reply, Client.Reply)] = [
                    (try await client.call(.get, "\(base)/\(annID)", key: b), try await client.call(.get, "\(base)/\(missing)", key: b)),
                    (
                        try await client.check(account, verification: annID, code: annCode, key: b),
                        try await client.check(account, verification: missing, code: annCode, key: b)
                    ),
                    (
                        try await client.call(.post, "\(base)/\(annID)/cancel", key: b, body: "{}"),
                        try await client.call(.post, "\(base)/\(missing)/cancel", key: b, body: "{}")
                    ),
                ]
                for (foreign, absent) in pairs {
                    #expect(foreign.status == .notFound && foreign.code == "not_found", "\(foreign.text)")
                    #expect(foreign.status == absent.status && foreign.body == absent.body, "\(foreign.text) vs \(absent.text)")
                }
            }

            // Nothing of that touched Ann's verification; both codes still work where they belong.
            let annNow = try await client.call(.get, "/v1/accounts/a/verifications/\(annID)", key: a)
            #expect(annNow.string("status") == "pending" && annNow["attemptsRemaining"] == .number("5"), "\(annNow.text)")
            let annRight = try await client.check("a", verification: annID, code: annCode, key: a)
            #expect(annRight.status == .ok && annRight.string("status") == "approved", "\(annRight.text)")
            let boRight = try await client.check("a", verification: boID, code: boCode, key: a)
            #expect(boRight.status == .ok && boRight.string("status") == "approved", "\(boRight.text)")
        }
    }

    // MARK: 7. The failure count survives resends (S-7, S-8)

    @Test("100 wrong codes in a row across 20 verifications lock the address; only an admin unlock clears it early")
    func lockAcrossResends() async throws {
        let app = try await TestApp.make()
        defer { app.remove() }
        try await app.test { client in
            let key = try await client.makeAccount("acme")
            let contact = try await client.makeContact("acme", key: key, #"{"name":"Ann","email":"ann@example.com"}"#)
            let contactPath = "/v1/accounts/acme/contacts/\(contact)"
            var failures = 0
            var last: (id: String, code: String) = ("", "")
            for round in 0..<20 {
                if round == 10 {
                    // Ten sends in 24 h: the per-address cap refuses the eleventh until a day passed.
                    let capped = try await client.startVerification("acme", contact: contact, key: key)
                    #expect(capped.status == .tooManyRequests && capped.code == "address_send_limit_reached", "\(capped.text)")
                    #expect(capped.headers[.retryAfter] != nil)
                    app.clock.advance(by: 24 * 3600 + 1)
                }
                if round == 19 {
                    // The last verification an hour later, so its send leaves the 24 h window
                    // an hour after the others (see below).
                    app.clock.advance(by: 3600)
                }
                let start = try await client.startVerification("acme", contact: contact, key: key)
                #expect(start.status == .accepted, "round \(round): \(start.text)")
                let id = try #require(start.string("id"))
                try await app.deliver()
                let code = try await SafetyOutbox.deliveredText(app, verification: id).code()
                last = (id, code)
                let wrong = SafetyCodes.wrong(for: [code])
                for attempt in 1...5 {
                    failures += 1
                    let reply = try await client.check("acme", verification: id, code: wrong, key: key)
                    if failures == 100 {
                        #expect(reply.status == .tooManyRequests && reply.code == "address_locked", "failure \(failures): \(reply.text)")
                    } else if attempt < 5 {
                        #expect(
                            reply.status == .unprocessableContent && reply.code == "code_mismatch"
                                && reply["attemptsRemaining"] == .number("\(5 - attempt)"),
                            "failure \(failures): \(reply.text)")
                    } else {
                        #expect(reply.status == .tooManyRequests && reply.code == "max_attempts_reached", "failure \(failures): \(reply.text)")
                    }
                }
            }
            #expect(failures == 100)

            // The right code of the verification that hit the limit no longer approves.
            let lateRight = try await client.check("acme", verification: last.id, code: last.code, key: key)
            #expect(lateRight.status != .ok, "\(lateRight.text)")
            #expect(lateRight.status == .gone || lateRight.code == "address_locked", "\(lateRight.text)")
            let locked = try await client.call(.get, contactPath, key: key)
            #expect(locked.safetyMember("email", "locked") == .bool(true), "\(locked.text)")
            #expect(locked.safetyMember("email", "status") == .string("not_verified"), "\(locked.text)")

            // A fresh start is refused, now and a day after the 11th–19th sends (the send cap no
            // longer applies then: only the lock refuses).
            let refused = try await client.startVerification("acme", contact: contact, key: key)
            #expect(refused.status == .tooManyRequests && refused.code == "address_locked", "\(refused.text)")
            app.clock.advance(by: 24 * 3600 - 3600 + 1)
            let stillRefused = try await client.startVerification("acme", contact: contact, key: key)
            #expect(stillRefused.status == .tooManyRequests && stillRefused.code == "address_locked", "\(stillRefused.text)")

            // Only an admin may unlock.
            let forbidden = try await client.call(.post, "\(contactPath)/unlock", key: key, body: #"{"channel":"email"}"#)
            #expect(forbidden.status == .forbidden && forbidden.code == "forbidden", "\(forbidden.text)")
            let afterForbidden = try await client.startVerification("acme", contact: contact, key: key)
            #expect(afterForbidden.status == .tooManyRequests && afterForbidden.code == "address_locked", "\(afterForbidden.text)")

            let unlocked = try await client.call(.post, "\(contactPath)/unlock", body: #"{"channel":"email"}"#)
            #expect(unlocked.status == .ok, "\(unlocked.text)")
            #expect(unlocked.safetyMember("email", "locked") == .bool(false), "\(unlocked.text)")

            let start = try await client.startVerification("acme", contact: contact, key: key)
            #expect(start.status == .accepted, "\(start.text)")
            let id = try #require(start.string("id"))
            try await app.deliver()
            let code = try await SafetyOutbox.deliveredText(app, verification: id).code()
            let approved = try await client.check("acme", verification: id, code: code, key: key)
            #expect(approved.status == .ok && approved.string("status") == "approved", "\(approved.text)")
            let verified = try await client.call(.get, contactPath, key: key)
            #expect(verified.safetyMember("email", "status") == .string("verified"), "\(verified.text)")
        }
    }
}

// MARK: - Helpers (file-private, named to avoid clashes with other test files)

/// Builds applications as `TestApp.make` does, with a chosen data folder, clock and logger.
private enum SafetyApps {
    static func make(
        directory: String? = nil, clock: ManualWallClock = ManualWallClock(), logger: Logger? = nil, adminKey: String? = nil
    ) async throws -> TestApp {
        let directory = directory ?? FileManager.default.temporaryDirectory.appendingPathComponent("cv-test-\(UUID().uuidString)").path
        var configuration = ServiceConfiguration()
        configuration.dataDirectory = directory
        configuration.resourcesDirectory = TestApp.packageRoot
        configuration.runWorker = false
        let built = try await buildApplication(configuration, clock: clock, logger: logger)
        let admin: String
        if let adminKey {
            admin = adminKey
        } else {
            let (key, secret) = APIKey.generate(accountID: nil, isAdmin: true, name: "test-admin", now: clock.now())
            try await built.store.insertKey(key)
            admin = secret
        }
        return TestApp(built: built, clock: clock, adminKey: admin, dataDirectory: directory)
    }
}

/// The message the file transport wrote for a verification's latest delivery, found through
/// the provider message id the worker recorded (the `.eml` path, or `sms.jsonl:<line>`).
private enum SafetyOutbox {
    struct Text {
        let text: String

        func code() throws -> String {
            let match = try #require(text.firstMatch(of: /\b(\d{4,10})\b/), "no code in: \(text)")
            return String(match.1)
        }

        func token() throws -> String {
            let match = try #require(text.firstMatch(of: /\/verify\/([A-Za-z0-9_-]+)/), "no link in: \(text)")
            return String(match.1)
        }
    }

    static func deliveredText(_ app: TestApp, verification id: String) async throws -> Text {
        let message = try #require(try await app.built.store.latestMessage(verificationID: id), "no message for \(id)")
        #expect(message.status == .sent, "message \(message.status)")
        let provider = try #require(message.providerMessageID, "no provider id")
        switch message.channel {
        case .email:
            return Text(text: try Outbox.parseEmail(String(contentsOfFile: provider, encoding: .utf8)).text)
        case .sms:
            let colon = try #require(provider.lastIndex(of: ":"))
            let line = try #require(Int(provider[provider.index(after: colon)...]))
            let content = try String(contentsOfFile: String(provider[..<colon]), encoding: .utf8)
            let lines = content.split(separator: "\n", omittingEmptySubsequences: false)
            try #require(line >= 1 && line <= lines.count)
            let object = try #require(try JSONSerialization.jsonObject(with: Data(lines[line - 1].utf8)) as? [String: Any])
            return Text(text: try #require(object["text"] as? String))
        }
    }
}

private enum SafetyCodes {
    /// A six-digit code that is none of `codes`.
    static func wrong(for codes: Set<String>) -> String {
        var n = 0
        while true {
            let candidate = String(format: "%06d", n)
            if !codes.contains(candidate) { return candidate }
            n += 1
        }
    }
}

/// Byte searches over files, logs and bodies.
private enum SafetyScan {
    struct DataFile {
        let path: String
        let bytes: [UInt8]
    }

    /// Every regular file under `root`, except those under `excluded`.
    static func files(under root: String, excluding excluded: String) throws -> [DataFile] {
        let fm = FileManager.default
        let excludedPrefix = URL(fileURLWithPath: excluded).standardizedFileURL.path + "/"
        var result: [DataFile] = []
        guard let enumerator = fm.enumerator(atPath: root) else { return [] }
        for case let relative as String in enumerator {
            let path = URL(fileURLWithPath: root).appendingPathComponent(relative).standardizedFileURL.path
            if (path + "/").hasPrefix(excludedPrefix) { continue }
            var isDirectory: ObjCBool = false
            guard fm.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else { continue }
            let data = try #require(fm.contents(atPath: path), "unreadable \(path)")
            result.append(DataFile(path: path, bytes: Array(data)))
        }
        return result
    }

    static func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        guard !needle.isEmpty, haystack.count >= needle.count else { return false }
        let first = needle[0]
        var i = 0
        let last = haystack.count - needle.count
        while i <= last {
            if haystack[i] == first && haystack[i..<(i + needle.count)].elementsEqual(needle) { return true }
            i += 1
        }
        return false
    }

    /// Whether `digits` occurs as a whole run of ASCII digits (not inside a longer number).
    static func containsDigitRun(_ haystack: [UInt8], _ digits: String) -> Bool {
        let needle = Array(digits.utf8)
        guard !needle.isEmpty, haystack.count >= needle.count else { return false }
        func isDigit(_ b: UInt8) -> Bool { (0x30...0x39).contains(b) }
        var i = 0
        while i <= haystack.count - needle.count {
            if haystack[i..<(i + needle.count)].elementsEqual(needle),
                i == 0 || !isDigit(haystack[i - 1]),
                i + needle.count == haystack.count || !isDigit(haystack[i + needle.count])
            {
                return true
            }
            i += 1
        }
        return false
    }
}

/// Every log line of an application, rendered with its metadata.
private final class SafetyLogRecorder: Sendable {
    private let storage = Mutex<[String]>([])

    func append(_ line: String) { storage.withLock { $0.append(line) } }
    var lines: [String] { storage.withLock { $0 } }
}

private struct SafetyRecordingLogHandler: LogHandler {
    let recorder: SafetyLogRecorder
    var metadata: Logger.Metadata = [:]
    var metadataProvider: Logger.MetadataProvider?
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { $1 } }
        if let own = event.metadata { merged.merge(own) { $1 } }
        let rendered = merged.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        let error = event.error.map { " error=\(String(reflecting: $0))" } ?? ""
        recorder.append("\(event.level) [\(event.source)] \(event.message) \(rendered)\(error)")
    }
}

extension Client.Reply {
    /// A nested member of the JSON body (`safetyMember("email", "status")`).
    fileprivate func safetyMember(_ keys: String...) -> JSONValue? {
        var value: JSONValue? = json
        for key in keys {
            guard case .object(let object)? = value else { return nil }
            value = object[key]
        }
        return value
    }
}

import ContactVerifyCore
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

/// What a retry under an `Idempotency-Key` gets after the process that ran the first request
/// died (F1, F2): each state a kill can leave is set up here as the dead process left it.
@Suite("Idempotency-Key after a crash")
struct IdempotencyRecoveryTests {
    static let startBody = #"{"channel":"email","method":"code"}"#
    static let contactBody = #"{"name":"Bo","email":"bo@example.com"}"#

    /// Claims `key` for a POST of `body` to `path`, as the request that died did.
    static func claim(_ app: TestApp, key: String, path: String, body: String) async throws -> IdempotencyMark {
        let now = app.clock.now()
        let claim = try await app.built.store.claimIdempotencyKey(
            accountID: "acme", key: key, fingerprint: Idempotency.fingerprint(method: "POST", path: path, body: Array(body.utf8)),
            now: now, staleAfter: Idempotency.inFlightTimeout, retention: Idempotency.retention)
        #expect(claim == .proceed)
        return IdempotencyMark(accountID: "acme", key: key, claimedAt: now)
    }

    @Test("a start, a contact and a batch that committed before the kill are answered from their rows at once, then replayed byte for byte; nothing runs twice")
    func committedBeforeKill() async throws {
        let app = try await TestApp.make()
        defer { app.remove() }
        try await app.test { client in
            let contact = try await VerificationsAPITests.setUp(client)
            let account = try #require(try await app.built.store.account(id: "acme"))
            let verifications = VerificationService(
                store: app.built.store, clock: app.clock, policy: VerificationPolicy(), secret: ServerSecret(bytes: Array(repeating: 7, count: 32)),
                pool: HashingPool(maxConcurrent: 1, maxWaiting: 10), resolveLocale: { _ in "en" }, onEnqueue: {})

            // Each request's transaction committed under its claim; the process died before storing the response.
            let startPath = "/v1/accounts/acme/contacts/\(contact)/verifications"
            let started = try await verifications.start(
                in: account, contactID: contact, channel: .email, method: .code, locale: nil,
                idempotency: try await Self.claim(app, key: "start", path: startPath, body: Self.startBody))
            let created = try Contact(
                id: Contact.makeID(), accountID: "acme", name: "Bo", email: ContactAddress(EmailNormalizer().normalize("bo@example.com")),
                createdAt: app.clock.now(), updatedAt: app.clock.now())
            try await app.built.store.insertContact(
                created, idempotency: try await Self.claim(app, key: "contact", path: "/v1/accounts/acme/contacts", body: Self.contactBody))
            let batchPath = "/v1/accounts/acme/verification-batches"
            let batchBody = #"{"channel":"email","contactIds":["\#(contact)"]}"#
            let batch = try await app.built.batches.create(
                in: account, selection: .contacts([contact]), channel: .email, method: .link,
                idempotency: try await Self.claim(app, key: "batch", path: batchPath, body: batchBody))

            // The retries, well inside the in-flight timeout: no 409, the committed resource.
            for (key, path, body, status, id) in [
                ("start", startPath, Self.startBody, HTTPResponse.Status.accepted, started.id),
                ("contact", "/v1/accounts/acme/contacts", Self.contactBody, .created, created.id),
                ("batch", batchPath, batchBody, .accepted, batch.id),
            ] {
                let headers: HTTPFields = [.init("Idempotency-Key")!: key]
                let retry = try await client.call(.post, path, body: body, headers: headers)
                #expect(retry.status == status, "\(key): \(retry.text)")
                #expect(retry.string("id") == id)
                #expect(retry.headers[.init("Idempotent-Replayed")!] == "true")
                // The answer is now stored: the next retry gets the same bytes.
                let again = try await client.call(.post, path, body: body, headers: headers)
                #expect(again.status == status)
                #expect(again.body == retry.body)
            }
            let verification = try await client.call(.get, "/v1/accounts/acme/verifications/\(started.id)")
            #expect(verification["sendCount"] == .number("1"), "the retry did not resend")
            try await app.deliver()
            #expect(try app.outbox.emails().count == 1, "one message for the start")
            let bo = try await client.call(.get, "/v1/accounts/acme/contacts?limit=10")
            guard case .array(let items)? = bo["items"] else { Issue.record("no contact list"); return }
            #expect(items.count == 2, "Ann and one Bo")
        }
    }

    @Test("a claim whose process died before its commit answers 409 with Retry-After until the configured in-flight timeout, then the request runs once")
    func claimedBeforeKill() async throws {
        let app = try await TestApp.make { $0.idempotencyInFlightTimeout = 5 }
        defer { app.remove() }
        try await app.test { client in
            let contact = try await VerificationsAPITests.setUp(client)
            let path = "/v1/accounts/acme/contacts/\(contact)/verifications"
            _ = try await Self.claim(app, key: "died", path: path, body: Self.startBody)
            let headers: HTTPFields = [.init("Idempotency-Key")!: "died"]
            app.clock.advance(by: 4)
            let busy = try await client.call(.post, path, body: Self.startBody, headers: headers)
            #expect(busy.status == .conflict)
            #expect(busy.code == "idempotency_key_in_use")
            #expect(busy.headers[.retryAfter] == "1")
            app.clock.advance(by: 2)
            let ran = try await client.call(.post, path, body: Self.startBody, headers: headers)
            #expect(ran.status == .accepted)
            #expect(ran.headers[.init("Idempotent-Replayed")!] == nil)
            let replay = try await client.call(.post, path, body: Self.startBody, headers: headers)
            #expect(replay.body == ran.body)
            try await app.deliver()
            #expect(try app.outbox.emails().count == 1)
        }
    }
}

import ContactVerifyCore
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

@Suite("Link verification pages")
struct LinkPagesTests {
    /// Account `acme`, contact Ann with a delivered email link; returns (contact id, token).
    static func setUp(_ app: TestApp, _ client: Client) async throws -> (String, String) {
        _ = try await client.makeAccount("acme", region: "CN")
        let contact = try await client.makeContact("acme", #"{"name":"Ann","email":"ann@example.com"}"#)
        let started = try await client.startVerification("acme", contact: contact, #"{"channel":"email","method":"link"}"#)
        #expect(started.status == .accepted)
        #expect(started.string("method") == "link")
        try await app.deliver()
        return (contact, try app.outbox.lastToken(to: "ann@example.com"))
    }

    static func emailStatus(_ client: Client, _ contact: String) async throws -> String? {
        let reply = try await client.call(.get, "/v1/accounts/acme/contacts/\(contact)")
        guard case .object(let email)? = reply["email"], case .string(let status)? = email["status"] else { return nil }
        return status
    }

    static func nonce(in page: String) -> String? {
        page.firstMatch(of: /name="nonce" value="([^"]+)"/).map { String($0.1) }
    }

    static func post(_ client: Client, _ token: String, form: String) async throws -> Client.Reply {
        try await client.call(.post, "/verify/\(token)", key: "", body: form, contentType: "application/x-www-form-urlencoded")
    }

    @Test("GET and HEAD show the masked address and change nothing; the form post confirms once")
    func pageFlow() async throws {
        let app = try await TestApp.make()
        defer { app.remove() }
        try await app.test { client in
            let (contact, token) = try await Self.setUp(app, client)
            #expect(token.count == 43)
            for _ in 0..<3 {
                let page = try await client.call(.get, "/verify/\(token)", key: "")
                #expect(page.status == .ok)
                #expect(page.text.contains("a***@example.com"))
                #expect(!page.text.contains("ann@example.com"))
                #expect(page.headers[.cacheControl] == "no-store")
                #expect(page.headers[.init("Referrer-Policy")!] == "no-referrer")
                #expect(page.headers[.contentSecurityPolicy]?.contains("frame-ancestors 'none'") == true)
                let head = try await client.call(.head, "/verify/\(token)", key: "")
                #expect(head.status == .ok)
            }
            #expect(try await Self.emailStatus(client, contact) == "pending", "GET and HEAD do not confirm")

            let page = try await client.call(.get, "/verify/\(token)", key: "")
            let nonce = try #require(Self.nonce(in: page.text))

            let forged = try await Self.post(client, token, form: "nonce=1800000000.AAAA")
            #expect(forged.status == .ok)
            #expect(Self.nonce(in: forged.text) != nil, "a forged nonce gets the confirmation page again")
            #expect(try await Self.emailStatus(client, contact) == "pending")

            let missing = try await Self.post(client, token, form: "")
            #expect(missing.status == .badRequest)
            #expect(missing.errorFields == ["nonce"])
            let extra = try await Self.post(client, token, form: "nonce=\(nonce)&next=https://evil.example")
            #expect(extra.status == .badRequest)
            let notForm = try await client.call(.post, "/verify/\(token)", key: "", body: "{}")
            #expect(notForm.status == .unsupportedMediaType)

            let confirmed = try await Self.post(client, token, form: "nonce=\(nonce.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)")
            #expect(confirmed.status == .ok)
            #expect(confirmed.text.contains("Verified"))
            #expect(try await Self.emailStatus(client, contact) == "verified")

            let second = try await Self.post(client, token, form: "nonce=\(nonce)")
            #expect(second.status == .ok)
            #expect(second.text.contains("Already verified"))
            let json = try await client.call(.post, "/v1/links/\(token)/confirm", key: "")
            #expect(json.status == .ok)
            #expect(json.string("status") == "already_verified")
        }
    }

    @Test("unknown, malformed, expired and superseded tokens all get the same 404 page")
    func invalidTokens() async throws {
        let app = try await TestApp.make()
        defer { app.remove() }
        try await app.test { client in
            let (contact, token) = try await Self.setUp(app, client)
            let unknown = try await client.call(.get, "/verify/\(String(repeating: "A", count: 43))", key: "")
            #expect(unknown.status == .notFound)
            for bad in ["x", String(repeating: "A", count: 44), "%00%0d%0a", String(token.dropLast()) + "!"] {
                let reply = try await client.call(.get, "/verify/\(bad)", key: "")
                #expect(reply.status == .notFound)
                #expect(reply.body == unknown.body)
                let json = try await client.call(.post, "/v1/links/\(bad)/confirm", key: "")
                #expect(json.status == .notFound)
                #expect(json.code == "link_invalid")
            }
            // The address changes: the old link no longer works, and looks like any bad link.
            #expect(try await client.call(.patch, "/v1/accounts/acme/contacts/\(contact)", body: #"{"email":"ann@example.org"}"#).status == .ok)
            let superseded = try await client.call(.get, "/verify/\(token)", key: "")
            #expect(superseded.status == .notFound)
            #expect(superseded.body == unknown.body)

            // A fresh link, left past its 24-hour lifetime.
            let started = try await client.startVerification("acme", contact: contact, #"{"channel":"email","method":"link"}"#)
            #expect(started.status == .accepted)
            try await app.deliver()
            let fresh = try app.outbox.lastToken(to: "ann@example.org")
            #expect(try await client.call(.get, "/verify/\(fresh)", key: "").status == .ok)
            app.clock.advance(by: 86_401)
            let expired = try await client.call(.get, "/verify/\(fresh)", key: "")
            #expect(expired.status == .notFound)
            #expect(expired.body == unknown.body)
            let json = try await client.call(.post, "/v1/links/\(fresh)/confirm", key: "")
            #expect(json.code == "link_invalid")
            // Answering an expired link writes nothing (it must cost what an unknown token
            // costs); the outbox worker's expiry sweep records the expiry.
            #expect(try await Self.emailStatus(client, contact) == "pending")
            try await app.deliver()
            #expect(try await Self.emailStatus(client, contact) == "not_verified")
        }
    }

    @Test("an invalid-link answer (page, form post, JSON) leaves no sooner than the floor, malformed or well-formed")
    func invalidAnswerFloor() async throws {
        let app = try await TestApp.make()
        defer { app.remove() }
        try await app.test { client in
            // LinksController.invalidAnswerFloor (internal to the API module).
            let floor = Duration.milliseconds(5)
            for token in ["x", String(repeating: "A", count: 43)] {
                let clock = ContinuousClock()
                var reply: Client.Reply?
                let page = try await clock.measure { reply = try await client.call(.get, "/verify/\(token)", key: "") }
                #expect(reply?.status == .notFound)
                #expect(page >= floor, "GET /verify/\(token): \(page)")
                let form = try await clock.measure {
                    reply = try await client.call(
                        .post, "/verify/\(token)", key: "", body: "nonce=abc", contentType: "application/x-www-form-urlencoded")
                }
                #expect(reply?.status == .notFound)
                #expect(form >= floor, "POST /verify/\(token): \(form)")
                let json = try await clock.measure { reply = try await client.call(.post, "/v1/links/\(token)/confirm", key: "") }
                #expect(reply?.code == "link_invalid")
                #expect(json >= floor, "POST /v1/links/\(token)/confirm: \(json)")
            }
        }
    }

    @Test("the JSON confirm verifies the address and reports the channel")
    func jsonConfirm() async throws {
        let app = try await TestApp.make()
        defer { app.remove() }
        try await app.test { client in
            let (contact, token) = try await Self.setUp(app, client)
            let bad = try await client.call(.post, "/v1/links/\(token)/confirm", key: "", body: #"{"x":1}"#)
            #expect(bad.status == .badRequest)
            #expect(try await Self.emailStatus(client, contact) == "pending")
            let reply = try await client.call(.post, "/v1/links/\(token)/confirm", key: "")
            #expect(reply.status == .ok)
            #expect(reply.string("status") == "verified")
            #expect(reply.string("channel") == "email")
            #expect(try await Self.emailStatus(client, contact) == "verified")
        }
    }

    @Test("a link verification cannot be approved with a code")
    func linkIsNotACode() async throws {
        let app = try await TestApp.make()
        defer { app.remove() }
        try await app.test { client in
            _ = try await client.makeAccount("acme", region: "CN")
            let contact = try await client.makeContact("acme", #"{"name":"Ann","email":"ann@example.com"}"#)
            let started = try await client.startVerification("acme", contact: contact, #"{"channel":"email","method":"link"}"#)
            let id = try #require(started.string("id"))
            let reply = try await client.check("acme", verification: id, code: "123456")
            #expect(reply.status == .notFound)
            #expect(try await Self.emailStatus(client, contact) == "pending")
        }
    }
}

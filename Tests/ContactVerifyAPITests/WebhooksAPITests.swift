import ContactVerifyCore
import Foundation
import TestServers
import Hummingbird
import HummingbirdTesting
import Testing

/// `scripts/servers/chatbot_stub.py` on a free loopback port, for tests through the app.
struct ChatbotStub {
    let process: ServerProcess
    let port: Int
    let directory: String

    var base: String { "http://127.0.0.1:\(port)" }

    static func start() async throws -> ChatbotStub {
        let port = try FreePort.one()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("cv-chatbot-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let process = try ServerProcess(
            "/usr/bin/python3",
            [TestApp.packageRoot + "/scripts/servers/chatbot_stub.py", "--port", String(port), "--log", directory + "/requests.jsonl"],
            log: directory + "/stub.log")
        try await process.waitUntilAccepting(port: port)
        return ChatbotStub(process: process, port: port, directory: directory)
    }

    /// Paths of the requests the stub received, in order.
    func paths() throws -> [String] {
        guard let text = try? String(contentsOfFile: directory + "/requests.jsonl", encoding: .utf8) else { return [] }
        return try text.split(separator: "\n").map { line in
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            #expect((object["problems"] as? [String] ?? []).isEmpty, "\(object["problems"] ?? "")")
            return object["path"] as? String ?? ""
        }
    }

    func stop() {
        process.stop()
        try? FileManager.default.removeItem(atPath: directory)
    }
}

@Suite("Chatbot webhooks through the API")
struct WebhooksAPITests {
    /// An app that may reach the loopback stub, its clock set to the real time: the stub, like
    /// the providers, refuses signatures more than an hour old.
    static func openApp() async throws -> TestApp {
        let app = try await TestApp.make { $0.allowPrivateWebhookTargets = true }
        app.clock.advance(by: Date().timeIntervalSince(app.clock.now()))
        return app
    }

    /// Starts the chatbot stub and ``openApp()``, creates account `acme`, and runs `body`;
    /// stops both afterwards.
    static func withStub(_ body: @escaping @Sendable (TestApp, Client, ChatbotStub) async throws -> Void) async throws {
        let stub = try await ChatbotStub.start()
        defer { stub.stop() }
        let app = try await openApp()
        defer { app.remove() }
        try await app.test { client in
            _ = try await client.makeAccount("acme")
            try await body(app, client, stub)
        }
    }

    static func webhooks(_ reply: Client.Reply) -> [[String: Any]] {
        ((try? JSONSerialization.jsonObject(with: Data(reply.body))) as? [String: Any])?["webhooks"] as? [[String: Any]] ?? []
    }

    @Test("a contact's webhooks are created with masked URLs and no secret, tested through the provider, and listed once verified")
    func createTestAndList() async throws {
        try await Self.withStub { app, client, stub in
            let created = try await client.call(
                .post, "/v1/accounts/acme/contacts",
                body: """
                    {"name":"Ann","email":"ann@example.com","webhooks":[
                      {"kind":"dingtalk","name":"Ops","url":"\(stub.base)/robot/send?access_token=signed-tok3n","secret":"SECtestsecret"},
                      {"kind":"wecom","name":"Dev","url":"\(stub.base)/cgi-bin/webhook/send?key=k3y-fast"}]}
                    """)
            #expect(created.status == .created, "\(created.text)")
            let contactID = try #require(created.string("id"))
            let webhooks = Self.webhooks(created)
            #expect(webhooks.map { $0["name"] as? String } == ["Ops", "Dev"])
            #expect(webhooks.map { $0["url"] as? String } == ["http://127.0.0.1:\(stub.port)/…", "http://127.0.0.1:\(stub.port)/…"])
            #expect(webhooks.map { $0["hasSecret"] as? Bool } == [true, false])
            #expect(webhooks.map { $0["status"] as? String } == ["not_verified", "not_verified"])
            for secretish in ["signed-tok3n", "k3y-fast", "SECtestsecret"] { #expect(!created.text.contains(secretish)) }
            let ops = try #require(webhooks[0]["id"] as? String)
            let dev = try #require(webhooks[1]["id"] as? String)
            #expect(ops.hasPrefix("wh_"))

            let verified = try await client.call(.post, "/v1/accounts/acme/contacts/\(contactID)/webhooks/\(ops)/test")
            #expect(verified.status == .ok, "\(verified.text)")
            #expect(verified.string("status") == "verified")
            #expect(verified.string("providerCode") == "0")
            let failed = try await client.call(.post, "/v1/accounts/acme/contacts/\(contactID)/webhooks/\(dev)/test", body: "{}")
            #expect(failed.string("status") == "failed")
            #expect(failed.string("providerCode") == "45009")
            #expect(failed.string("message")?.hasPrefix("api freq out of limit") == true)
            #expect(try stub.paths() == ["/robot/send", "/cgi-bin/webhook/send"])

            let read = try await client.call(.get, "/v1/accounts/acme/contacts/\(contactID)")
            #expect(Self.webhooks(read).map { $0["status"] as? String } == ["verified", "not_verified"])
            #expect(Self.webhooks(read)[1]["lastTest"] as? [String: Any] != nil)

            _ = try await client.makeContact("acme", #"{"name":"Bob","email":"bob@example.com"}"#)
            let list = try await client.call(.get, "/v1/accounts/acme/contacts?channel=webhook&status=verified")
            #expect(list.status == .ok, "\(list.text)")
            guard case .array(let items)? = list["items"] else { throw WebhookTestFailure("no items") }
            #expect(items.count == 1)
            let all = try await client.call(.get, "/v1/accounts/acme/contacts?channel=webhook")
            guard case .array(let withWebhooks)? = all["items"] else { throw WebhookTestFailure("no items") }
            #expect(withWebhooks.count == 1, "Bob has no webhook")

            // Credentials are sealed: the database files do not hold them in plaintext.
            for file in ["contact-verify.sqlite", "contact-verify.sqlite-wal"] {
                let bytes = (try? Data(contentsOf: URL(fileURLWithPath: app.dataDirectory + "/" + file))) ?? Data()
                #expect(bytes.range(of: Data("signed-tok3n".utf8)) == nil, "\(file)")
                #expect(bytes.range(of: Data("SECtestsecret".utf8)) == nil, "\(file)")
            }
        }
    }

    @Test("PATCH keeps a listed webhook and its status by id, resets the status when the URL changes, and removes the unlisted")
    func patch() async throws {
        try await Self.withStub { app, client, stub in
            let contact = try await client.makeContact(
                "acme",
                #"{"name":"Ann","email":"ann@example.com","webhooks":[{"kind":"lark","name":"Ops","url":"\#(stub.base)/open-apis/bot/v2/hook/signed-1","secret":"testsecret"},{"kind":"custom","name":"Hook","url":"\#(stub.base)/custom/ok"}]}"#)
            let read = try await client.call(.get, "/v1/accounts/acme/contacts/\(contact)")
            let ids = Self.webhooks(read).compactMap { $0["id"] as? String }
            #expect(try await client.call(.post, "/v1/accounts/acme/contacts/\(contact)/webhooks/\(ids[0])/test").string("status") == "verified")

            let renamed = try await client.call(
                .patch, "/v1/accounts/acme/contacts/\(contact)", body: #"{"webhooks":[{"id":"\#(ids[0])","name":"Operations"}]}"#)
            #expect(renamed.status == .ok, "\(renamed.text)")
            #expect(Self.webhooks(renamed).map { $0["name"] as? String } == ["Operations"])
            #expect(Self.webhooks(renamed).map { $0["status"] as? String } == ["verified"], "same URL and secret: still verified")
            #expect(Self.webhooks(renamed).map { $0["hasSecret"] as? Bool } == [true])

            let moved = try await client.call(
                .patch, "/v1/accounts/acme/contacts/\(contact)",
                body: #"{"webhooks":[{"id":"\#(ids[0])","url":"\#(stub.base)/open-apis/bot/v2/hook/signed-2"}]}"#)
            #expect(Self.webhooks(moved).map { $0["status"] as? String } == ["not_verified"])

            let unknown = try await client.call(.patch, "/v1/accounts/acme/contacts/\(contact)", body: #"{"webhooks":[{"id":"wh_nope"}]}"#)
            #expect(unknown.status == .badRequest)
            #expect(unknown.errorFields == ["webhooks.0.id"])

            let cleared = try await client.call(.patch, "/v1/accounts/acme/contacts/\(contact)", body: #"{"webhooks":null}"#)
            #expect(Self.webhooks(cleared).isEmpty)
            let gone = try await client.call(.post, "/v1/accounts/acme/contacts/\(contact)/webhooks/\(ids[0])/test")
            #expect(gone.status == .notFound)
        }
    }

    @Test("without the operator's option, loopback and plain-http URLs are refused with problem+json naming the field")
    func ssrfRefused() async throws {
        let app = try await TestApp.make()
        defer { app.remove() }
        try await app.test { client in
            _ = try await client.makeAccount("acme")
            for (url, code) in [
                ("https://127.0.0.1:8443/custom/ok", "private_target"), ("https://[::ffff:7f00:1]/x", "private_target"),
                ("https://169.254.169.254/latest", "private_target"), ("https://localhost/x", "private_target"),
                ("http://example.com/hook", "insecure_scheme"),
            ] {
                let reply = try await client.call(
                    .post, "/v1/accounts/acme/contacts",
                    body: #"{"name":"Ann","email":"ann@example.com","webhooks":[{"kind":"custom","name":"Hook","url":"\#(url)"}]}"#)
                #expect(reply.status == .badRequest, "\(url): \(reply.text)")
                #expect(reply.headers[.contentType] == "application/problem+json")
                #expect(reply.errorFields == ["webhooks.0.url"], "\(url)")
                #expect(reply.text.contains(code), "\(url): \(reply.text)")
            }
        }
    }

    @Test("malformed webhook lists get 4xx problem+json naming each field")
    func validation() async throws {
        let app = try await Self.openApp()
        defer { app.remove() }
        try await app.test { client in
            _ = try await client.makeAccount("acme")
            func entry(_ i: Int) -> String { #"{"kind":"custom","name":"W\#(i)","url":"https://example.com/\#(i)"}"# }
            let cases: [(String, [String])] = [
                (#""webhooks":"x""#, ["webhooks"]),
                (#""webhooks":[\#((0..<6).map(entry).joined(separator: ","))]"#, ["webhooks"]),
                (#""webhooks":[{"kind":"teams","name":"A","url":"https://example.com/a"}]"#, ["webhooks.0.kind"]),
                (#""webhooks":[{"kind":"custom","url":"https://example.com/a"}]"#, ["webhooks.0.name"]),
                (#""webhooks":[{"kind":"custom","name":"A","url":"https://example.com/a","extra":1}]"#, ["webhooks.0.extra"]),
                (#""webhooks":[{"kind":"custom","name":"A","url":7}]"#, ["webhooks.0.url"]),
                (#""webhooks":[{"id":"wh_x","kind":"custom","name":"A","url":"https://example.com/a"}]"#, ["webhooks.0.id"]),
                (#""webhooks":[\#(entry(1)),{"kind":"custom","name":"B","url":"https://example.com/1"}]"#, ["webhooks.1.url"]),
                (#""webhooks":[\#(entry(1)),{"kind":"custom","name":"W1","url":"https://example.com/2"}]"#, ["webhooks.1.name"]),
                (#""webhooks":[{"kind":"wecom","name":"A","url":"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k","secret":"s"}]"#, ["webhooks.0.secret"]),
                (#""webhooks":[{"kind":"dingtalk","name":"A","url":"https://oapi.dingtalk.com/robot/send"}]"#, ["webhooks.0.url"]),
                (#""webhooks":[{"kind":"custom","name":"A","url":"https://user:pw@example.com/a"}]"#, ["webhooks.0.url"]),
            ]
            for (member, fields) in cases {
                let reply = try await client.call(.post, "/v1/accounts/acme/contacts", body: #"{"name":"Ann","email":"ann@example.com",\#(member)}"#)
                #expect(reply.status == .badRequest, "\(member): \(reply.text)")
                #expect(reply.errorFields == fields, "\(member): \(reply.text)")
            }
            let contact = try await client.makeContact("acme", #"{"name":"Ann","email":"ann@example.com"}"#)
            let missing = try await client.call(.post, "/v1/accounts/acme/contacts/\(contact)/webhooks/wh_missing/test")
            #expect(missing.status == .notFound)
            let body = try await client.call(.post, "/v1/accounts/acme/contacts/\(contact)/webhooks/wh_missing/test", body: #"{"x":1}"#)
            #expect(body.status == .badRequest)
            #expect(body.errorFields == ["x"])
        }
    }

    @Test("a WeCom robot gets at most 20 test messages a minute: the 21st is 429 with Retry-After, and a minute later it is sent")
    func rateLimit() async throws {
        try await Self.withStub { app, client, stub in
            let created = try await client.call(
                .post, "/v1/accounts/acme/contacts",
                body: #"{"name":"Ann","email":"ann@example.com","webhooks":[{"kind":"wecom","name":"Ops","url":"\#(stub.base)/cgi-bin/webhook/send?key=k1"}]}"#)
            let contact = try #require(created.string("id"))
            let webhook = try #require(Self.webhooks(created).first?["id"] as? String)
            let path = "/v1/accounts/acme/contacts/\(contact)/webhooks/\(webhook)/test"
            for _ in 0..<20 { #expect(try await client.call(.post, path).string("status") == "verified") }
            let limited = try await client.call(.post, path)
            #expect(limited.status == .tooManyRequests)
            #expect(limited.code == "webhook_rate_limited")
            #expect(limited.headers[.retryAfter] == "60")
            #expect(limited.headers[.contentType] == "application/problem+json")
            #expect(try stub.paths().count == 20)
            app.clock.advance(by: 60)
            #expect(try await client.call(.post, path).string("status") == "verified")
        }
    }

    @Test("a webhook that answers late is failed as a timeout after 5 seconds, and a redirect is not followed")
    func timeoutAndRedirect() async throws {
        try await Self.withStub { app, client, stub in
            let created = try await client.call(
                .post, "/v1/accounts/acme/contacts",
                body: #"{"name":"Ann","email":"ann@example.com","webhooks":[{"kind":"custom","name":"Slow","url":"\#(stub.base)/hang"},{"kind":"custom","name":"Moved","url":"\#(stub.base)/redirect"}]}"#)
            let contact = try #require(created.string("id"))
            let ids = Self.webhooks(created).compactMap { $0["id"] as? String }
            let clock = ContinuousClock()
            let start = clock.now
            let slow = try await client.call(.post, "/v1/accounts/acme/contacts/\(contact)/webhooks/\(ids[0])/test")
            #expect(clock.now - start >= .milliseconds(4900))
            #expect(slow.status == .ok)
            #expect(slow.string("status") == "failed")
            #expect(slow.string("providerCode") == "timeout")
            let moved = try await client.call(.post, "/v1/accounts/acme/contacts/\(contact)/webhooks/\(ids[1])/test")
            #expect(moved.string("status") == "failed")
            #expect(moved.string("providerCode") == "http_302")
            #expect(try stub.paths() == ["/hang", "/redirect"])
        }
    }

    @Test("account callbacks to loopback addresses are refused when saved and at delivery without the operator's option")
    func callbackGuard() async throws {
        let stub = try await ChatbotStub.start()
        defer { stub.stop() }
        let app = try await TestApp.make()
        defer { app.remove() }
        try await app.test { client in
            let put = try await client.call(
                .put, "/v1/accounts/acme", body: #"{"displayName":"Acme","callbackUrl":"\#(stub.base)/custom/ok","callbackSecret":"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}"#)
            #expect(put.status == .badRequest, "\(put.text)")
            #expect(put.errorFields == ["callbackUrl"])
            // An account saved before the guard existed (or whose name now resolves elsewhere)
            // is still stopped at delivery.
            let now = app.clock.now()
            _ = try await app.built.store.putAccount(
                Account(id: "acme", displayName: "Acme", callbackURL: "http://localhost:\(stub.port)/custom/ok", callbackSecret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", createdAt: now, updatedAt: now))
            let contact = try await client.makeContact("acme", #"{"name":"Ann","email":"ann@example.com"}"#)
            let id = try #require(try await client.startVerification("acme", contact: contact).string("id"))
            try await app.deliver()
            #expect(try await client.check("acme", verification: id, code: try app.outbox.lastCode(to: "ann@example.com")).status == .ok)
            #expect(try await app.built.events.runOnce() == 1)
            let event = try #require(try await app.built.store.events(accountID: "acme", limit: 1).first)
            #expect(event.status == .failed)
            #expect(event.lastError?.hasPrefix("blockedTarget") == true, "\(event.lastError ?? "")")
            #expect(try stub.paths().isEmpty)
        }
    }
}

struct WebhookTestFailure: Error {
    var description: String
    init(_ description: String) { self.description = description }
}

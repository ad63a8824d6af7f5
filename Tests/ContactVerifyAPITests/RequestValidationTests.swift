import ContactVerifyCore
import Foundation
import HummingbirdTesting
import Testing

@Suite("Hostile and malformed requests")
struct RequestValidationTests {
    @Test(
        "malformed bodies get a 4xx problem naming the field",
        arguments: [
            (#"{"name":"a","email":"a@example.com","status":"verified"}"#, "status"),
            (#"{"name":"a","name":"b","email":"a@example.com"}"#, "name"),
            (#"{"name":5,"email":"a@example.com"}"#, "name"),
            (#"{"email":"a@example.com"}"#, "name"),
            (#"["not","an","object"]"#, "body"),
            (#"{"name":"a","email":"a@example.com""#, "email"),  // syntax errors name where parsing stopped
            (#"{"name":"a","email":"a@example.com\r\nBcc: x@evil.com"}"#, "email"),
            (#"{"name":"a","email":"v@x.com,a@evil.com"}"#, "email"),
            (#"{"name":"a","email":"u@[127.0.0.1]"}"#, "email"),
            (#"{"name":"a","phone":"1-800-MICROSOFT"}"#, "phone"),
            (#"{"name":"a"}"#, "email"),
        ])
    func malformedBodies(body: String, field: String) async throws {
        let app = try await TestApp.make()
        try await app.test { client in
            let key = try await client.makeAccount("acme")
            let reply = try await client.call(.post, "/v1/accounts/acme/contacts", key: key, body: body)
            #expect(reply.status == .badRequest, "\(reply.text)")
            #expect(reply.headers[.contentType] == "application/problem+json")
            #expect(reply.errorFields.contains(where: { $0 == field || $0.hasPrefix("\(field).") }), "\(reply.text)")
        }
    }

    @Test("invalid UTF-8, deep nesting and over-sized bodies are 4xx, and the service keeps answering")
    func hostileBodies() async throws {
        let app = try await TestApp.make()
        try await app.test { client in
            let key = try await client.makeAccount("acme")
            // Strings cannot hold invalid UTF-8, so the raw bytes go through the client directly.
            let raw = try await client.client.execute(
                uri: "/v1/accounts/acme/contacts", method: .post,
                headers: [.authorization: "Bearer \(key)", .contentType: "application/json"],
                body: .init(bytes: [0x7B, 0x22, 0x6E, 0x22, 0x3A, 0x22, 0xC0, 0xAF, 0x22, 0x7D])
            ) { $0.status }
            #expect(raw == .badRequest)
            let deep = String(repeating: "[", count: 10_000)
            #expect(try await client.call(.post, "/v1/accounts/acme/contacts", key: key, body: deep).status == .badRequest)
            let big = #"{"name":""# + String(repeating: "a", count: 1 << 21) + #""}"#
            let tooLarge = try await client.call(.post, "/v1/accounts/acme/contacts", key: key, body: big)
            #expect(tooLarge.status == .contentTooLarge && tooLarge.code == "body_too_large")
            let form = try await client.call(.post, "/v1/accounts/acme/contacts", key: key, body: "name=a", contentType: "application/x-www-form-urlencoded")
            #expect(form.status == .unsupportedMediaType)
            #expect(try await client.call(.get, "/healthz").status == .ok)
        }
    }

    @Test("unknown routes and methods are problem documents, not empty 404s")
    func unknownRoutes() async throws {
        let app = try await TestApp.make()
        try await app.test { client in
            let reply = try await client.call(.get, "/v1/nope")
            #expect(reply.status == .notFound && reply.headers[.contentType] == "application/problem+json")
        }
    }

    @Test("health, readiness, metrics and the API document are served")
    func operations() async throws {
        let app = try await TestApp.make()
        try await app.test { client in
            #expect(try await client.call(.get, "/healthz").string("status") == "ok")
            #expect(try await client.call(.get, "/readyz").string("status") == "ready")
            let metrics = try await client.call(.get, "/metrics")
            #expect(metrics.text.contains("http_requests_total{route=\"/healthz\""))
            #expect(metrics.text.contains("http_request_duration_seconds"))
            let document = try await client.call(.get, "/openapi.yaml")
            #expect(document.text.hasPrefix("openapi: 3.1"))
        }
    }
}

import ContactVerifyAPI
import ContactVerifyCore
import ContactVerifyDelivery
import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

/// A service built exactly as the executable builds it, on a temporary data folder and a
/// manual clock, with an admin key and helpers to call it.
struct TestApp {
    let built: BuiltApplication
    let clock: ManualWallClock
    let adminKey: String
    let dataDirectory: String

    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    /// `smsGateway`, when given, sends SMS as the executable does: the production
    /// `SMSTransport` over that adapter and a real `CurlHTTPClient` (set before `configure`).
    static func make(
        smsGateway: (any SMSGateway)? = nil, configure: (inout ServiceConfiguration) -> Void = { _ in }
    ) async throws -> TestApp {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("cv-test-\(UUID().uuidString)").path
        var configuration = ServiceConfiguration()
        configuration.dataDirectory = directory
        configuration.resourcesDirectory = packageRoot
        configuration.runWorker = false
        if let smsGateway { configuration.smsTransport = SMSTransport(gateway: smsGateway, client: CurlHTTPClient()) }
        configure(&configuration)
        let clock = ManualWallClock()
        let built = try await buildApplication(configuration, clock: clock)
        let (key, secret) = APIKey.generate(accountID: nil, isAdmin: true, name: "test-admin", now: clock.now())
        try await built.store.insertKey(key)
        return TestApp(built: built, clock: clock, adminKey: secret, dataDirectory: directory)
    }

    /// Sends everything the outbox holds now, as the worker's loop would.
    func deliver() async throws {
        try await built.worker.drain()
    }

    /// Works through every pending batch item, as the batch runner would.
    func runBatches() async throws {
        while try await built.batches.runOnce(limit: 500) > 0 {}
    }

    /// The folder the file transport writes to.
    var outboxDirectory: String { dataDirectory + "/outbox" }

    /// Removes the data folder.
    func remove() {
        try? FileManager.default.removeItem(atPath: dataDirectory)
    }

    /// Runs `body` against the router (no sockets).
    func test<R>(_ body: @escaping @Sendable (Client) async throws -> R) async throws -> R {
        try await built.application.test(.router) { client in try await body(Client(client: client, adminKey: adminKey)) }
    }
}

/// A thin JSON client over HummingbirdTesting's client.
struct Client: Sendable {
    let client: any TestClientProtocol
    let adminKey: String

    struct Reply: Sendable {
        let status: HTTPResponse.Status
        let headers: HTTPFields
        let body: [UInt8]
        var text: String { String(decoding: body, as: UTF8.self) }
        var json: JSONValue { (try? JSONParser.parse(body)) ?? .null }
        subscript(_ key: String) -> JSONValue? {
            if case .object(let o) = json { return o[key] }
            return nil
        }
        /// A string member of the JSON body.
        func string(_ key: String) -> String? {
            if case .string(let s)? = self[key] { return s }
            return nil
        }
        /// The problem+json `code`.
        var code: String? { string("code") }
        /// The `field` names of a problem's `errors`.
        var errorFields: [String] {
            guard case .array(let items)? = self["errors"] else { return [] }
            return items.compactMap { if case .object(let o) = $0, case .string(let f)? = o["field"] { f } else { nil } }
        }
    }

    @discardableResult
    func call(
        _ method: HTTPRequest.Method, _ path: String, key: String? = nil, body: String? = nil,
        headers extra: HTTPFields = [:], contentType: String? = "application/json"
    ) async throws -> Reply {
        var headers = extra
        if let key = key ?? (extra[.authorization] == nil ? adminKey : nil), !key.isEmpty {
            headers[.authorization] = "Bearer \(key)"
        }
        if body != nil, let contentType { headers[.contentType] = contentType }
        return try await client.execute(
            uri: path, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) }
        ) { response in
            Reply(status: response.status, headers: response.headers, body: Array(buffer: response.body))
        }
    }

    /// The value of a counter or gauge on `/metrics` whose labels include `labels` (for
    /// example `#"channel="email""#`); 0 before its first increment.
    func metric(_ name: String, _ labels: String) async throws -> Double {
        let reply = try await call(.get, "/metrics", key: "")
        #expect(reply.status == .ok)
        let line = reply.text.split(separator: "\n").first { $0.hasPrefix("\(name){") && $0.contains(labels) }
        return line?.split(separator: " ").last.flatMap { Double($0) } ?? 0
    }

    /// Creates an account as admin and returns a key scoped to it.
    func makeAccount(_ id: String, region: String? = nil) async throws -> String {
        let regionJSON = region.map { "\"\($0)\"" } ?? "null"
        let put = try await call(.put, "/v1/accounts/\(id)", body: #"{"displayName":"\#(id)","defaultRegion":\#(regionJSON)}"#)
        #expect(put.status == .created || put.status == .ok)
        let key = try await call(.post, "/v1/accounts/\(id)/keys", body: "{}")
        #expect(key.status == .created)
        return key.string("key") ?? ""
    }

    /// Starts a verification and returns the reply (202 expected by most callers).
    func startVerification(_ account: String, contact: String, key: String? = nil, _ body: String = #"{"channel":"email"}"#) async throws -> Reply {
        try await call(.post, "/v1/accounts/\(account)/contacts/\(contact)/verifications", key: key, body: body)
    }

    /// Checks a code (given as a JSON string literal unless `raw`).
    func check(_ account: String, verification: String, code: String, key: String? = nil, raw: Bool = false) async throws -> Reply {
        try await call(
            .post, "/v1/accounts/\(account)/verifications/\(verification)/check", key: key,
            body: raw ? #"{"code":\#(code)}"# : #"{"code":"\#(code)"}"#)
    }

    /// Creates a contact and returns its id.
    func makeContact(_ account: String, key: String? = nil, _ body: String) async throws -> String {
        let reply = try await call(.post, "/v1/accounts/\(account)/contacts", key: key, body: body)
        #expect(reply.status == .created, "\(reply.text)")
        return reply.string("id") ?? ""
    }
}

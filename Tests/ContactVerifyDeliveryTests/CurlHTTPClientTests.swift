import ContactVerifyDelivery
import Foundation
import TestServers
import Testing

@Suite("libcurl HTTP client")
struct CurlHTTPClientTests {
    // MARK: What goes out

    @Test("a GET sends the path, the caller's headers and no body")
    func getRequest() async throws {
        let server = try await HTTPEchoServer.start()
        defer { server.stop() }
        let client = CurlHTTPClient()
        let response = try await client.send(
            OutboundHTTPRequest(
                method: "GET", url: server.url("/echo?to=%2B8613800138000&text=hi"),
                headers: [HTTPHeader("X-Custom", "a  b"), HTTPHeader("Accept", "application/json"), HTTPHeader("X-Empty", "")]))
        #expect(response.status == 200)
        let request = EchoedRequest(response.body)
        #expect(request.line == "GET /echo?to=%2B8613800138000&text=hi HTTP/1.1")
        #expect(request.header("X-Custom") == ["a  b"])
        #expect(request.header("Accept") == ["application/json"])
        #expect(request.header("X-Empty") == [""])
        #expect(request.header("User-Agent") == ["ContactVerify"])
        #expect(request.header("Content-Length").isEmpty)
        #expect(request.header("Expect").isEmpty)
        #expect(request.header("Authorization").isEmpty)
        #expect(request.body.isEmpty)
    }

    @Test("a POST carries the body byte for byte, only the caller's content type, and basic auth")
    func postRequest() async throws {
        let server = try await HTTPEchoServer.start()
        defer { server.stop() }
        let client = CurlHTTPClient()
        let body: [UInt8] = Array("to=+86 138&text=\u{4F60}\u{597D}\r\n.\r\n".utf8) + [0, 255, 10, 13] + Array(repeating: 0x41, count: 5000)
        let response = try await client.send(
            OutboundHTTPRequest(
                method: "POST", url: server.url("/echo"), headers: [HTTPHeader("Content-Type", "text/plain; charset=utf-8")],
                body: body, basicAuth: (user: "kannel", password: "p:ss wörd")))
        #expect(response.status == 200)
        let request = EchoedRequest(response.body)
        #expect(request.line == "POST /echo HTTP/1.1")
        #expect(request.body == body)
        #expect(request.header("Content-Length") == [String(body.count)])
        #expect(request.header("Content-Type") == ["text/plain; charset=utf-8"])
        #expect(request.header("Expect").isEmpty, "no 100-continue round trip")
        let credentials = Data("kannel:p:ss wörd".utf8).base64EncodedString()
        #expect(request.header("Authorization") == ["Basic \(credentials)"])
    }

    @Test("a POST without a content type gets none from libcurl")
    func postWithoutContentType() async throws {
        let server = try await HTTPEchoServer.start()
        defer { server.stop() }
        let response = try await CurlHTTPClient().send(OutboundHTTPRequest(method: "POST", url: server.url("/echo"), body: Array("a=b".utf8)))
        let request = EchoedRequest(response.body)
        #expect(request.header("Content-Type").isEmpty)
        #expect(request.body == Array("a=b".utf8))
    }

    @Test("other methods go out as the caller spelled them, with their body", arguments: ["PUT", "PATCH", "DELETE"])
    func otherMethods(method: String) async throws {
        let server = try await HTTPEchoServer.start()
        defer { server.stop() }
        let body = Array(#"{"a":1}"#.utf8)
        let response = try await CurlHTTPClient().send(
            OutboundHTTPRequest(method: method, url: server.url("/echo"), headers: [HTTPHeader("Content-Type", "application/json")], body: body))
        let request = EchoedRequest(response.body)
        #expect(request.line == "\(method) /echo HTTP/1.1")
        #expect(request.body == body)
        #expect(request.header("Content-Length") == [String(body.count)])
    }

    // MARK: What comes back

    @Test("any status is a response, with its headers and body", arguments: [200, 202, 400, 404, 429, 500, 503])
    func statuses(status: Int) async throws {
        let server = try await HTTPEchoServer.start()
        defer { server.stop() }
        let response = try await CurlHTTPClient().send(OutboundHTTPRequest(method: "GET", url: server.url("/status/\(status)?retry-after=7")))
        #expect(response.status == status)
        #expect(response.header("retry-after") == "7")
        #expect(response.header("Content-Length") == String("status \(status)".utf8.count))
        #expect(response.text == "status \(status)")
    }

    @Test("a redirect is returned, not followed")
    func redirectNotFollowed() async throws {
        let server = try await HTTPEchoServer.start()
        defer { server.stop() }
        let response = try await CurlHTTPClient().send(
            OutboundHTTPRequest(method: "POST", url: server.url("/status/307?location=/echo"), body: [1, 2, 3]))
        #expect(response.status == 307)
        #expect(response.header("Location") == "/echo")
        #expect(response.text == "status 307")
    }

    @Test("a response over the limit is responseTooLarge, with or without a Content-Length", arguments: [false, true])
    func responseLimit(chunked: Bool) async throws {
        let server = try await HTTPEchoServer.start()
        defer { server.stop() }
        var configuration = CurlHTTPClient.Configuration()
        configuration.maxResponseBytes = 64 * 1024
        let client = CurlHTTPClient(configuration)
        let fits = try await client.send(OutboundHTTPRequest(method: "GET", url: server.url("/big?bytes=65536&chunked=\(chunked ? 1 : 0)")))
        #expect(fits.body.count == 65536)
        await #expect(throws: HTTPClientError.self) {
            _ = try await client.send(OutboundHTTPRequest(method: "GET", url: server.url("/big?bytes=65537&chunked=\(chunked ? 1 : 0)")))
        }
        let error = await Self.error { try await client.send(OutboundHTTPRequest(method: "GET", url: server.url("/big?chunked=\(chunked ? 1 : 0)"))) }
        #expect(error?.kind == .responseTooLarge)
    }

    // MARK: Failures

    @Test("a refused connection is notSent")
    func refused() async throws {
        let port = try FreePort.one()
        let error = await Self.error { try await CurlHTTPClient().send(OutboundHTTPRequest(method: "POST", url: "http://127.0.0.1:\(port)/sms", body: [1])) }
        #expect(error?.kind == .notSent)
    }

    @Test("a timeout after the request went out is ambiguous")
    func timeoutAfterSending() async throws {
        let server = try await HTTPEchoServer.start()
        defer { server.stop() }
        let error = await Self.error {
            try await CurlHTTPClient().send(OutboundHTTPRequest(method: "POST", url: server.url("/slow?seconds=3"), body: [1], timeout: .milliseconds(300)))
        }
        #expect(error?.kind == .ambiguous)
        #expect(error?.message.lowercased().contains("timed out") == true, "\(String(describing: error))")
    }

    @Test("a connection closed without a response is ambiguous")
    func emptyReply() async throws {
        let server = try await HTTPEchoServer.start()
        defer { server.stop() }
        let error = await Self.error { try await CurlHTTPClient().send(OutboundHTTPRequest(method: "POST", url: server.url("/drop"), body: [1])) }
        #expect(error?.kind == .ambiguous)
    }

    @Test("a connection reset after half a response is ambiguous, and the client still works (F19)")
    func resetMidResponse() async throws {
        let server = try await HTTPEchoServer.start()
        defer { server.stop() }
        let client = CurlHTTPClient()
        let error = await Self.error { try await client.send(OutboundHTTPRequest(method: "POST", url: server.url("/reset"), body: [1])) }
        #expect(error?.kind == .ambiguous, "\(String(describing: error))")
        #expect(error?.message.lowercased().contains("reset") == true, "\(String(describing: error))")
        // The same client (and its connection cache) goes on to the next request.
        let next = try await client.send(OutboundHTTPRequest(method: "GET", url: server.url("/status/200")))
        #expect(next.status == 200)
    }

    @Test(
        "requests that cannot be sent safely are invalidRequest",
        arguments: [
            OutboundHTTPRequest(method: "GET", url: "ftp://127.0.0.1/file"),
            OutboundHTTPRequest(method: "GET", url: "file:///etc/passwd"),
            OutboundHTTPRequest(method: "GET", url: "http://127.0.0.1/a b"),
            OutboundHTTPRequest(method: "GET", url: "http://127.0.0.1/", headers: [HTTPHeader("X-A", "1\r\nX-Injected: 1")]),
            OutboundHTTPRequest(method: "GET", url: "http://127.0.0.1/", headers: [HTTPHeader("X A", "1")]),
            OutboundHTTPRequest(method: "GET\r\n", url: "http://127.0.0.1/"),
            OutboundHTTPRequest(method: "GET", url: "http://127.0.0.1/", body: [1]),
            OutboundHTTPRequest(method: "GET", url: "http://127.0.0.1/", basicAuth: (user: "a:b", password: "c")),
        ])
    func invalidRequests(request: OutboundHTTPRequest) async throws {
        let error = await Self.error { try await CurlHTTPClient().send(request) }
        #expect(error?.kind == .invalidRequest)
    }

    @Test("an error message never contains the basic-auth password")
    func passwordNotInErrors() async throws {
        let port = try FreePort.one()
        let error = await Self.error {
            try await CurlHTTPClient().send(
                OutboundHTTPRequest(method: "GET", url: "http://127.0.0.1:\(port)/", basicAuth: (user: "u", password: "hunter2-secret")))
        }
        let message = try #require(error?.message)
        #expect(!message.contains("hunter2-secret"))
    }

    // MARK: Connections and threads

    @Test("consecutive requests reuse one connection")
    func connectionReuse() async throws {
        let server = try await HTTPEchoServer.start()
        defer { server.stop() }
        var configuration = CurlHTTPClient.Configuration()
        configuration.connections = 1
        let client = CurlHTTPClient(configuration)
        // The server names the client's port of each request's connection. (It used to count
        // accepted connections, and a readiness probe's connection counted late on a busy
        // machine now and then.)
        let peer = { try await client.send(OutboundHTTPRequest(method: "GET", url: server.url("/peer"))).text }
        let first = try await peer()
        for index in 0..<10 {
            let echoed = try await client.send(OutboundHTTPRequest(method: "POST", url: server.url("/echo"), body: Array("n=\(index)".utf8)))
            #expect(EchoedRequest(echoed.body).body == Array("n=\(index)".utf8))
            #expect(try await peer() == first)
        }
    }

    @Test("many concurrent requests on two threads each get their own response")
    func concurrentRequests() async throws {
        let server = try await HTTPEchoServer.start()
        defer { server.stop() }
        var configuration = CurlHTTPClient.Configuration()
        configuration.connections = 2
        let client = CurlHTTPClient(configuration)
        try await withThrowingTaskGroup(of: (Int, [UInt8]).self) { group in
            for index in 0..<50 {
                group.addTask {
                    let response = try await client.send(OutboundHTTPRequest(method: "POST", url: server.url("/echo?i=\(index)"), body: Array("body \(index)".utf8)))
                    return (index, response.body)
                }
            }
            var seen = Set<Int>()
            for try await (index, body) in group {
                let request = EchoedRequest(body)
                #expect(request.line == "POST /echo?i=\(index) HTTP/1.1")
                #expect(request.body == Array("body \(index)".utf8))
                seen.insert(index)
            }
            #expect(seen.count == 50)
        }
    }

    @Test("beyond the queue limit a request fails at once as notSent")
    func queueLimit() async throws {
        let server = try await HTTPEchoServer.start()
        defer { server.stop() }
        var configuration = CurlHTTPClient.Configuration()
        configuration.connections = 1
        configuration.queueLimit = 1
        let client = CurlHTTPClient(configuration)
        // One slow request on the only thread and at most one waiting: of four sent together
        // (well within the second), at least two are refused.
        let outcomes = await withTaskGroup(of: HTTPClientError?.self) { group in
            for _ in 0..<4 {
                group.addTask { await Self.error { try await client.send(OutboundHTTPRequest(method: "GET", url: server.url("/slow?seconds=1"))) } }
            }
            return await group.reduce(into: [HTTPClientError?]()) { $0.append($1) }
        }
        let refused = outcomes.compactMap { $0 }
        #expect(refused.count >= 2)
        #expect(refused.allSatisfy { $0.kind == .notSent && $0.message.contains("waiting") })
    }

    // MARK: Helpers

    static func error(_ body: () async throws -> InboundHTTPResponse) async -> HTTPClientError? {
        do {
            _ = try await body()
            return nil
        } catch let error as HTTPClientError {
            return error
        } catch {
            Issue.record("unexpected error \(error)")
            return nil
        }
    }
}

/// The request as `/echo` returned it.
struct EchoedRequest {
    var line = ""
    var headers: [(name: String, value: String)] = []
    var body: [UInt8] = []

    init(_ bytes: [UInt8]) {
        let separator = Array("\r\n\r\n".utf8)
        guard let end = (0...(max(0, bytes.count - 4))).first(where: { Array(bytes[$0..<min(bytes.count, $0 + 4)]) == separator }) else { return }
        let head = String(decoding: bytes[..<end], as: UTF8.self).components(separatedBy: "\r\n")
        line = head.first ?? ""
        headers = head.dropFirst().compactMap { text in
            guard let colon = text.firstIndex(of: ":") else { return nil }
            return (String(text[..<colon]), String(text[text.index(after: colon)...]).trimmingCharacters(in: .whitespaces))
        }
        body = Array(bytes[(end + 4)...])
    }

    func header(_ name: String) -> [String] {
        headers.filter { $0.name.lowercased() == name.lowercased() }.map(\.value)
    }
}

/// `scripts/servers/http_echo.py` on a free loopback port.
final class HTTPEchoServer: @unchecked Sendable {
    let port: Int
    private let process: Process

    func url(_ path: String) -> String { "http://127.0.0.1:\(port)\(path)" }

    static func start() async throws -> HTTPEchoServer {
        let port = try FreePort.one()
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
        let process = Process()
        let python = ProcessInfo.processInfo.environment["CONTACT_VERIFY_PYTHON"].flatMap { $0.isEmpty ? nil : $0 } ?? "/usr/bin/python3"
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [root + "/scripts/servers/http_echo.py", String(port)]
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        try process.spawn()
        let server = HTTPEchoServer(port: port, process: process)
        // Ready once the port accepts connections (connect-polling with a deadline).
        let deadline = ContinuousClock.now + .seconds(15)
        while !FreePort.accepts(port) {
            guard process.isRunning, ContinuousClock.now < deadline else {
                server.stop()
                throw EchoServerError(description: "http_echo.py did not start listening on port \(port)")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        return server
    }

    private init(port: Int, process: Process) {
        self.port = port
        self.process = process
    }

    func stop() {
        process.killAndWait()
    }

    deinit { stop() }
}

struct EchoServerError: Error, CustomStringConvertible {
    var description: String
}

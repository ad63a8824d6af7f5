import Foundation
import TestServers
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The built `contact-verify` binary, run as a child process on a port the kernel picks.
final class ServiceProcess: @unchecked Sendable {
    let process = Process()
    let dataDirectory: String
    private(set) var baseURL = ""
    private let errorPipe = Pipe.forChild()
    private var log = Data()

    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    /// The binary under test: `CONTACT_VERIFY_BINARY`, else the debug build.
    static var binary: String {
        ProcessInfo.processInfo.environment["CONTACT_VERIFY_BINARY"] ?? packageRoot + "/.build/debug/contact-verify"
    }

    /// A service on a new temporary data folder, or on `dataDirectory` (to restart on the same data).
    init(dataDirectory: String? = nil) {
        self.dataDirectory = dataDirectory
            ?? FileManager.default.temporaryDirectory.appendingPathComponent("cv-bb-\(UUID().uuidString)").path
    }

    /// Runs a one-shot CLI command against this data folder and returns its standard output.
    func command(_ arguments: [String]) async throws -> String {
        let child = Process()
        child.executableURL = URL(fileURLWithPath: Self.binary)
        child.arguments = arguments + ["--data-dir", dataDirectory]
        let result = try await child.runToEnd()
        #expect(result.status == 0, "contact-verify \(arguments.joined(separator: " ")) failed: \(result.errors)")
        return result.output.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Starts `serve` (on `port`, 0 for one the kernel picks, with `arguments` added, and
    /// `environment` added to this process's, e.g. `LD_PRELOAD`) and waits until the log names
    /// the bound address.
    func start(port: Int = 0, arguments: [String] = [], environment: [String: String] = [:]) async throws {
        process.executableURL = URL(fileURLWithPath: Self.binary)
        process.arguments = ["serve", "--port", String(port), "--data-dir", dataDirectory, "--resources-dir", Self.packageRoot] + arguments
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        process.standardError = errorPipe
        process.standardOutput = FileHandle.nullDevice
        try process.spawn()
        baseURL = try await onOwnThread { [self] in try readBoundAddress() }
    }

    /// Reads the log until it names the bound address; returns the base URL. Blocks: runs on
    /// a thread of its own (`onOwnThread`).
    private func readBoundAddress() throws -> String {
        let marker = Data("listening on ".utf8)
        while true {
            let chunk = errorPipe.fileHandleForReading.availableData
            if chunk.isEmpty { throw ServiceError.exited(String(decoding: log, as: UTF8.self)) }
            log.append(chunk)
            if let range = log.range(of: marker), let end = log[range.upperBound...].firstIndex(of: UInt8(ascii: "\n")) {
                // Keep reading, so a chatty server never blocks on a full pipe.
                errorPipe.fileHandleForReading.readabilityHandler = { handle in _ = handle.availableData }
                return "http://" + String(decoding: log[range.upperBound..<end], as: UTF8.self)
            }
        }
    }

    /// Sends SIGTERM and returns the exit status.
    func terminate() async -> Int32 {
        process.terminate()
        return await process.exitStatus()
    }

    /// Kills the process outright, as a crash would, and waits until it is gone.
    func kill() async {
        Foundation.kill(process.processIdentifier, SIGKILL)
        _ = await process.exitStatus()
    }

    /// Kills the process if it still runs, without waiting for it to end: the clean-up of a
    /// `defer`, which cannot wait without blocking a thread (Foundation reaps the process once
    /// it exits). Nothing of the process needs to survive, and a SIGKILL cannot hang.
    func stop() {
        if process.isRunning { Foundation.kill(process.processIdentifier, SIGKILL) }
    }

    enum ServiceError: Error { case exited(String) }

    /// One HTTP request; returns status and body.
    func request(_ method: String, _ path: String, key: String? = nil, body: String? = nil) async throws -> (Int, String) {
        let reply = try await send(method, path, key: key, body: body)
        return (reply.status, reply.body)
    }

    /// An HTTP answer with its headers.
    struct Reply: Sendable {
        var status: Int
        /// Header values by lowercased name.
        var headers: [String: String]
        var body: String

        /// The value of the header `name` (any case).
        func header(_ name: String) -> String? { headers[name.lowercased()] }

        /// The body's top-level JSON object (empty if it is not one).
        var object: [String: Any] { json(body) }
    }

    /// One HTTP request with extra `headers` (an `Idempotency-Key`, say); returns the answer
    /// with its headers.
    func send(
        _ method: String, _ path: String, key: String? = nil, body: String? = nil, headers: [String: String] = [:]
    ) async throws -> Reply {
        var request = URLRequest(url: URL(string: baseURL + path)!)
        request.httpMethod = method
        if let key { request.setValue("Bearer \(key)", forHTTPHeaderField: "Authorization") }
        if let body {
            request.httpBody = Data(body.utf8)
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        let (data, response) = try await URLSession.shared.data(for: request)
        let http = response as? HTTPURLResponse
        var fields: [String: String] = [:]
        for (name, value) in http?.allHeaderFields ?? [:] {
            if let name = name as? String, let value = value as? String { fields[name.lowercased()] = value }
        }
        return Reply(status: http?.statusCode ?? 0, headers: fields, body: String(decoding: data, as: UTF8.self))
    }
}

extension ServiceProcess {
    /// Creates `total` contacts named `C<i>` with the email `c<i>@example.com` in `account`,
    /// eight requests at a time, spread over `instances` lane by lane; returns their ids.
    static func createContacts(
        _ total: Int, account: String, key: String, through instances: [ServiceProcess]
    ) async throws -> [String] {
        try await withThrowingTaskGroup(of: [String].self) { group in
            for lane in 0..<8 {
                let instance = instances[lane % instances.count]
                group.addTask {
                    var ids: [String] = []
                    for i in stride(from: lane, to: total, by: 8) {
                        let (status, body) = try await instance.request(
                            "POST", "/v1/accounts/\(account)/contacts", key: key, body: #"{"name":"C\#(i)","email":"c\#(i)@example.com"}"#)
                        #expect(status == 201)
                        ids.append(json(body)["id"] as? String ?? "")
                    }
                    return ids
                }
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }
    }

    /// Creates a contact with `phone` in `acme` and starts an SMS verification (`method`:
    /// `code` or `link`) for it; returns the verification's id.
    func startSMSVerification(phone: String, key: String, method: String = "code") async throws -> String {
        let (created, contact) = try await request(
            "POST", "/v1/accounts/acme/contacts", key: key, body: #"{"name":"Sam","phone":"\#(phone)"}"#)
        #expect(created == 201, "\(contact)")
        let contactID = try #require(json(contact)["id"] as? String)
        let (started, verification) = try await request(
            "POST", "/v1/accounts/acme/contacts/\(contactID)/verifications", key: key,
            body: #"{"channel":"sms","method":"\#(method)"}"#)
        #expect(started == 202, "\(verification)")
        return try #require(json(verification)["id"] as? String)
    }

    /// A random 256-bit `--secret-key`, for instances that must share one.
    static func randomSecretKey() -> String {
        (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
    }
}

/// A response body's top-level JSON object (empty if it is not one).
func json(_ body: String) -> [String: Any] {
    (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any] ?? [:]
}

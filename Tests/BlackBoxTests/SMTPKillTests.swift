import Foundation
import TestServers
import Testing

/// The binary killed with SIGKILL in the middle of an SMTP transaction, then restarted on the
/// same data folder against a healthy server on the same port (faults F4 and F3 over SMTP).
///
/// Postfix's smtp-sink holds one reply of the transaction: `-w 30` the `354` to `DATA` (the
/// client has sent `DATA` and waits to send the message), `-W .:30` the `250` after the final
/// "." (the server has the whole message; the client does not know). Its `-v` log shows each
/// command as it arrives, so the test kills the binary once every message is inside its
/// transaction. The restarted binary sends the messages again once the killed one's outbox
/// lease has run out.
@Suite("SMTP: the binary killed inside a transaction, restarted against a healthy server")
struct SMTPKillTests {
    /// The SMTP timeout and the outbox lease: short, so the test takes seconds, yet long enough
    /// that no held send times out before the kill (starting the three verifications took up
    /// to 5.6 s on the loaded CI machine; an 8 s timeout once let a send fail and be retried
    /// before the kill). The service refuses a lease that is not longer than the timeout plus
    /// 5 s of pacing.
    static let smtpTimeout = 12
    static let lease = 18
    static let messages = 3

    /// One contact per message, each with an email code verification started, all at once (so
    /// the sends reach the held reply together, well inside the SMTP timeout even on a loaded
    /// machine); returns the verification id by recipient address.
    static func startVerifications(_ service: ServiceProcess, key: String) async throws -> [String: String] {
        try await withThrowingTaskGroup(of: (String, String).self) { group in
            for i in 0..<messages {
                group.addTask {
                    let address = "kill\(i)@example.com"
                    let (created, contact) = try await service.request(
                        "POST", "/v1/accounts/acme/contacts", key: key, body: #"{"name":"Kim \#(i)","email":"\#(address)"}"#)
                    #expect(created == 201, "\(contact)")
                    let contactID = try #require(json(contact)["id"] as? String)
                    let (started, verification) = try await service.request(
                        "POST", "/v1/accounts/acme/contacts/\(contactID)/verifications", key: key, body: #"{"channel":"email","method":"code"}"#)
                    #expect(started == 202, "\(verification)")
                    return (address, try #require(json(verification)["id"] as? String))
                }
            }
            return try await group.reduce(into: [:]) { $0[$1.0] = $1.1 }
        }
    }

    /// Waits until every verification's message is `sent`; returns when the healthy sink first
    /// held a complete message.
    static func waitUntilSent(
        _ service: ServiceProcess, _ verifications: [String: String], key: String, sink: SinkProcess
    ) async throws -> ContinuousClock.Instant {
        var firstDump: ContinuousClock.Instant?
        var statuses: [String] = []
        let deadline = ContinuousClock.now + .seconds(lease + smtpTimeout + 20)
        while ContinuousClock.now < deadline {
            if firstDump == nil, try !sink.messages().isEmpty { firstDump = .now }
            statuses = []
            for id in verifications.values {
                let (_, body) = try await service.request("GET", "/v1/accounts/acme/verifications/\(id)", key: key)
                statuses.append((json(body)["delivery"] as? [String: Any])?["status"] as? String ?? "")
            }
            if firstDump != nil && statuses.allSatisfy({ $0 == "sent" }) { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(statuses == Array(repeating: "sent", count: verifications.count), "delivery states after the restart")
        return try #require(firstDump, "nothing reached the healthy sink")
    }

    /// Checks `code` against the verification: it must approve it.
    static func expectApproves(_ service: ServiceProcess, verification: String, code: String, key: String) async throws {
        let (status, body) = try await service.request(
            "POST", "/v1/accounts/acme/verifications/\(verification)/check", key: key, body: #"{"code":"\#(code)"}"#)
        #expect(status == 200, "\(body)")
        #expect(json(body)["status"] as? String == "approved")
    }

    @Test("F4: kill -9 while the server holds the 354 to DATA; after a restart and the lease each message arrives exactly once, and its code approves")
    func killMidData() async throws {
        let port = try FreePort.one()
        let held = try await SinkProcess.start(["-w", "30"], port: port)
        defer { held.remove() }
        let first = ServiceProcess()
        defer { try? FileManager.default.removeItem(atPath: first.dataDirectory) }
        _ = try await first.command(["accounts", "put", "acme"])
        let admin = try await first.command(["keys", "create", "--admin"])
        let smtp = [
            "--smtp-url", "smtp://127.0.0.1:\(port)", "--smtp-tls", "none", "--smtp-timeout", String(Self.smtpTimeout),
            "--outbox-lease", String(Self.lease),
        ]
        try await first.start(arguments: smtp)

        let started = ContinuousClock.now
        let verifications = try await Self.startVerifications(first, key: admin)
        // Every message has sent DATA and waits for the 354 the sink holds back.
        try await waitFor(
            held.commands().filter { $0 == "DATA" }.count == Self.messages, "\(Self.messages) transactions waiting for the 354",
            seconds: Double(Self.smtpTimeout - 2))
        await first.kill()
        // The server never got a message: the killed transactions ended before any content.
        #expect(try held.messages().allSatisfy { $0.header("Message-ID").isEmpty }, "the held sink kept message content")
        held.stop()

        let healthy = try await SinkProcess.start([], port: port)
        defer { healthy.remove() }
        let second = ServiceProcess(dataDirectory: first.dataDirectory)
        try await second.start(arguments: smtp)
        defer { second.stop() }
        let firstDump = try await Self.waitUntilSent(second, verifications, key: admin, sink: healthy)
        // Not sent again before the killed instance's lease ran out (its claim came after `started`).
        #expect(firstDump - started >= .milliseconds(Self.lease * 1000 - 500), "re-sent \(firstDump - started) after the start")

        let dumps = try healthy.messages()
        #expect(dumps.count == Self.messages, "one dump per message: \(dumps.map(\.recipients))")
        #expect(Set(dumps.flatMap { $0.header("Message-ID") }).count == Self.messages)
        #expect(dumps.flatMap(\.recipients).sorted() == verifications.keys.sorted().map { "<\($0)>" })
        for dump in dumps {
            let address = String(try #require(dump.recipients.first).dropFirst().dropLast())
            try await Self.expectApproves(second, verification: try #require(verifications[address]), code: try dump.code(), key: admin)
        }
    }

    @Test("F3 over SMTP: kill -9 after the final dot while the server holds the 250; the restart re-sends each message once, with the same Message-ID and code, and the code approves")
    func killAfterDot() async throws {
        let port = try FreePort.one()
        let held = try await SinkProcess.start(["-W", ".:30"], port: port)
        defer { held.remove() }
        let first = ServiceProcess()
        defer { try? FileManager.default.removeItem(atPath: first.dataDirectory) }
        _ = try await first.command(["accounts", "put", "acme"])
        let admin = try await first.command(["keys", "create", "--admin"])
        let smtp = [
            "--smtp-url", "smtp://127.0.0.1:\(port)", "--smtp-tls", "none", "--smtp-timeout", String(Self.smtpTimeout),
            "--outbox-lease", String(Self.lease),
        ]
        try await first.start(arguments: smtp)

        let verifications = try await Self.startVerifications(first, key: admin)
        // Every message is through the final "." and its sender waits for the held 250: the
        // sink has the whole message (its dump is complete), the binary has not marked it sent.
        try await waitFor(
            held.commands().filter { $0 == "." }.count == Self.messages, "\(Self.messages) messages waiting for the 250",
            seconds: Double(Self.smtpTimeout - 2))
        await first.kill()
        held.stop()
        let before = try held.messages()
        #expect(before.count == Self.messages, "the held sink has every message before the kill")

        let healthy = try await SinkProcess.start([], port: port)
        defer { healthy.remove() }
        let second = ServiceProcess(dataDirectory: first.dataDirectory)
        try await second.start(arguments: smtp)
        defer { second.stop() }
        _ = try await Self.waitUntilSent(second, verifications, key: admin, sink: healthy)
        let after = try healthy.messages()
        #expect(after.count == Self.messages, "each message re-sent once: \(after.map(\.recipients))")

        // Each Message-ID at most twice (once per server), and both copies carry the same code
        // to the same recipient.
        let copies = Dictionary(grouping: before + after) { $0.header("Message-ID").first ?? "" }
        #expect(copies.count == Self.messages && copies[""] == nil, "Message-IDs: \(copies.keys.sorted())")
        for (messageID, mails) in copies {
            #expect(mails.count == 2, "\(messageID) arrived \(mails.count) times")
            let codes = try mails.map { try $0.code() }
            #expect(Set(codes).count == 1, "\(messageID) carried different codes")
            #expect(Set(mails.map(\.recipients)).count == 1)
            let address = String(try #require(mails[0].recipients.first).dropFirst().dropLast())
            try await Self.expectApproves(second, verification: try #require(verifications[address]), code: codes[0], key: admin)
        }
    }
}

/// Postfix's smtp-sink on a given loopback port, with `-v` (each received command in its log)
/// and one dump file per transaction. (`SMTPSink` in ContactVerifyAPITests is not visible to
/// this target, and these tests need the command log and a fixed port for the restart.)
final class SinkProcess: @unchecked Sendable {
    let port: Int
    let directory: String
    private let process = Process()

    var mailDirectory: String { directory + "/mail" }
    var logPath: String { directory + "/sink.log" }

    /// Starts a sink with `flags` added on `port` and waits until it accepts connections.
    /// `-a`: smtp-sink answers AUTH wrongly, so it is not advertised.
    static func start(_ flags: [String], port: Int) async throws -> SinkProcess {
        let sink = try SinkProcess(flags, port: port)
        try await waitFor(try sink.accepting(), "smtp-sink on port \(port)")
        return sink
    }

    private init(_ flags: [String], port: Int) throws {
        self.port = port
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("cv-kill-sink-\(UUID().uuidString)").path
        // Reachable and writable by the `nobody` user smtp-sink switches to when run as root.
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        try FileManager.default.createDirectory(atPath: mailDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o777])
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        let user = geteuid() == 0 ? ["-u", "nobody"] : []
        process.executableURL = URL(fileURLWithPath: "/usr/sbin/smtp-sink")
        process.arguments = user + ["-a", "-v"] + flags + ["-d", mailDirectory + "/%Y%m%d%H%M%S.", "127.0.0.1:\(port)", "128"]
        process.standardOutput = log
        process.standardError = log
        process.standardInput = FileHandle.nullDevice
        try process.spawn()
    }

    private func accepting() throws -> Bool {
        guard process.isRunning else {
            throw ServiceProcess.ServiceError.exited((try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "")
        }
        return FreePort.accepts(port)
    }

    /// The SMTP commands received so far, in order (`DATA`, `.`, …), from the `-v` log.
    func commands() -> [String] {
        let log = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        return log.split(whereSeparator: { $0 == "\n" || $0 == "\r" }).compactMap { line in
            line.range(of: "smtp-sink: ").map { String(line[$0.upperBound...]) }
        }
    }

    /// Ends the sink with SIGKILL (a child of a Swift concurrency thread may block SIGTERM);
    /// its dumps stay. Once it is gone, another sink can take the port.
    func stop() {
        process.killAndWait()
    }

    func remove() {
        stop()
        try? FileManager.default.removeItem(atPath: directory)
    }

    deinit { remove() }

    /// Every dump file, oldest first (a transaction cut short leaves an empty or partial one).
    func messages() throws -> [SinkDump] {
        let names = try FileManager.default.contentsOfDirectory(atPath: mailDirectory).filter { !$0.hasPrefix(".") }.sorted()
        return try names.map { SinkDump(raw: try String(contentsOfFile: mailDirectory + "/" + $0, encoding: .utf8)) }
    }
}

/// One smtp-sink dump: its own `X-…` and `Received:` lines, then the message; LF line ends.
struct SinkDump {
    let raw: String

    var lines: [String] { raw.replacingOccurrences(of: "\r\n", with: "\n").components(separatedBy: "\n") }

    /// Every value of the header `name` (case-insensitive).
    func header(_ name: String) -> [String] {
        let prefix = name.lowercased() + ":"
        return lines.prefix { !$0.isEmpty }.filter { $0.lowercased().hasPrefix(prefix) }.map {
            String($0.dropFirst(prefix.count)).trimmingCharacters(in: .whitespaces)
        }
    }

    /// The envelope recipients (`<address>`).
    var recipients: [String] { header("X-Rcpt-Args") }

    /// The verification code in the base64 text/plain part.
    func code() throws -> String {
        let lines = self.lines
        let start = try #require(lines.firstIndex { $0.hasPrefix("Content-Type: text/plain") }, "no text/plain part")
        let bodyStart = try #require(lines[start...].firstIndex(of: ""), "text/plain part without a body") + 1
        let encoded = lines[bodyStart...].prefix { !$0.isEmpty && !$0.hasPrefix("--") }.joined()
        let text = String(decoding: try #require(Data(base64Encoded: encoded), "the text/plain part is not base64"), as: UTF8.self)
        return String(try #require(text.firstMatch(of: /\b(\d{4,10})\b/), "no code in the text part").1)
    }
}

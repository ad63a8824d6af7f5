import Foundation
import TestServers
import Testing

// Real SMTP servers for the SMTP transport's tests (docs: real-servers.md, "SMTP"): Postfix's
// smtp-sink for plain SMTP and its fault injection, aiosmtpd (scripts/servers/aiosmtpd_server.py)
// for STARTTLS, SMTPS and AUTH. Each runs on a free loopback port in its own temporary folder;
// callers stop it in a `defer`.

/// Postfix `smtp-sink`: accepts everything (or fails on purpose) and dumps one file per
/// transaction, complete once the client has seen the `250` after the final ".".
final class SMTPSink: @unchecked Sendable {
    static let executable = "/usr/sbin/smtp-sink"

    let port: Int
    /// Temporary folder: `mail/` holds the dump files, `sink.log` the sink's output.
    let directory: String
    private let process: ServerProcess

    var mailDirectory: String { directory + "/mail" }

    /// Starts a sink with `flags` added (e.g. `["-f", "RCPT", "-B", "554 5.7.1 No"]`) and waits
    /// until it accepts connections. `-a` (no AUTH advertised) is always given: smtp-sink
    /// answers AUTH wrongly.
    static func start(_ flags: [String] = [], port: Int? = nil) async throws -> SMTPSink {
        let directory = try TemporaryFolder.make("cv-smtp-sink")
        try FileManager.default.createDirectory(
            atPath: directory + "/mail", withIntermediateDirectories: true, attributes: [.posixPermissions: 0o777])
        // Root must switch users (smtp-sink refuses to run as root); that user writes the dumps.
        let user = geteuid() == 0 ? ["-u", "nobody"] : []
        let port = try port ?? FreePort.one()
        let arguments = user + ["-a", "-c"] + flags + ["-d", directory + "/mail/%Y%m%d%H%M%S.", "127.0.0.1:\(port)", "128"]
        let process = try ServerProcess(executable, arguments, log: directory + "/sink.log")
        let sink = SMTPSink(port: port, directory: directory, process: process)
        try await process.waitUntilAccepting(port: port)
        return sink
    }

    private init(port: Int, directory: String, process: ServerProcess) {
        self.port = port
        self.directory = directory
        self.process = process
    }

    /// Stops the sink (the dump files stay until ``remove()``).
    func stop() { process.stop() }

    /// Stops the sink and removes its folder.
    func remove() {
        stop()
        try? FileManager.default.removeItem(atPath: directory)
    }

    deinit { remove() }

    /// Every dumped transaction, by file name (receipt time, then a random id).
    func messages() throws -> [ReceivedMail] {
        let names = try FileManager.default.contentsOfDirectory(atPath: mailDirectory).filter { !$0.hasPrefix(".") }.sorted()
        return try names.map { name in
            // smtp-sink writes LF line ends and a blank line after the message.
            let text = try String(contentsOfFile: mailDirectory + "/" + name, encoding: .utf8)
            return ReceivedMail(raw: text.replacingOccurrences(of: "\r\n", with: "\n"))
        }
    }
}

/// aiosmtpd with a STARTTLS+AUTH listener, an SMTPS+AUTH listener and a plain one, using a
/// self-signed certificate for `localhost` and `127.0.0.1` made with openssl.
final class AiosmtpdServer: @unchecked Sendable {
    static let user = "cv-user"
    static let password = "cv-Secret-4711"

    let starttlsPort: Int
    let smtpsPort: Int
    let plainPort: Int
    let directory: String
    private let process: ServerProcess

    /// The self-signed certificate, to be given as the CA file.
    var certificatePath: String { directory + "/cert.pem" }
    var mailDirectory: String { directory + "/mail" }

    static func start() async throws -> AiosmtpdServer {
        let directory = try TemporaryFolder.make("cv-aiosmtpd")
        try await ServerProcess.runToCompletion(
            "/usr/bin/openssl",
            [
                "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
                "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
                "-keyout", directory + "/key.pem", "-out", directory + "/cert.pem",
            ], log: directory + "/openssl.log")
        let ports = try FreePort.several(3)
        let script = TestApp.packageRoot + "/scripts/servers/aiosmtpd_server.py"
        let process = try ServerProcess(
            ServerProcess.python,
            [
                script, "--starttls-port", String(ports[0]), "--smtps-port", String(ports[1]), "--plain-port", String(ports[2]),
                "--cert", directory + "/cert.pem", "--key", directory + "/key.pem", "--user", user, "--password", password,
                "--dir", directory + "/mail",
            ], log: directory + "/aiosmtpd.log")
        let server = AiosmtpdServer(ports: ports, directory: directory, process: process)
        for port in ports { try await process.waitUntilAccepting(port: port) }
        return server
    }

    private init(ports: [Int], directory: String, process: ServerProcess) {
        (starttlsPort, smtpsPort, plainPort) = (ports[0], ports[1], ports[2])
        self.directory = directory
        self.process = process
    }

    func stop() { process.stop() }

    func remove() {
        stop()
        try? FileManager.default.removeItem(atPath: directory)
    }

    deinit { remove() }

    /// Every accepted message (files are renamed into place whole), oldest first.
    func messages() throws -> [ReceivedMail] {
        guard FileManager.default.fileExists(atPath: mailDirectory) else { return [] }
        let names = try FileManager.default.contentsOfDirectory(atPath: mailDirectory).filter { $0.hasSuffix(".eml") }.sorted()
        return try names.map { name in
            let text = try String(contentsOfFile: mailDirectory + "/" + name, encoding: .utf8)
            return ReceivedMail(raw: text.replacingOccurrences(of: "\r\n", with: "\n"))
        }
    }
}

/// One message as a server stored it: the server's own lines first (smtp-sink's `X-…` and
/// `Received:` headers, or aiosmtpd_server.py's `X-…` lines), then the message. Line ends are LF.
struct ReceivedMail {
    let raw: String

    var lines: [String] { raw.components(separatedBy: "\n") }

    /// Every value of the header `name` (case-insensitive) in the whole header block.
    func header(_ name: String) -> [String] {
        let prefix = name.lowercased() + ":"
        return lines.prefix { !$0.isEmpty }.filter { $0.lowercased().hasPrefix(prefix) }.map {
            String($0.dropFirst(prefix.count)).trimmingCharacters(in: .whitespaces)
        }
    }

    /// The envelope recipients: smtp-sink's `X-Rcpt-Args` or aiosmtpd's `X-Rcpt-To`.
    var recipients: [String] { header("X-Rcpt-Args") + header("X-Rcpt-To") }

    /// The decoded text/plain part of the multipart message.
    func plainText() throws -> String {
        let lines = self.lines
        let start = try #require(lines.firstIndex { $0.hasPrefix("Content-Type: text/plain") }, "no text/plain part")
        let bodyStart = try #require(lines[start...].firstIndex(of: ""), "text/plain part without a body") + 1
        let encoded = lines[bodyStart...].prefix { !$0.isEmpty && !$0.hasPrefix("--") }.joined()
        let data = try #require(Data(base64Encoded: encoded), "the text/plain part is not base64")
        return String(decoding: data, as: UTF8.self)
    }

    /// The verification code in the text part.
    func code() throws -> String {
        let text = try plainText()
        return String(try #require(text.firstMatch(of: /\b(\d{4,10})\b/), "no code in: \(text)").1)
    }

    /// The link token in the text part.
    func linkToken() throws -> String {
        let text = try plainText()
        return String(try #require(text.firstMatch(of: /\/verify\/([A-Za-z0-9_-]+)/), "no link in: \(text)").1)
    }
}

// MARK: - Processes and ports

/// A server process whose output goes to a log file; ``stop()`` ends it (SIGTERM, then SIGKILL).
final class ServerProcess: @unchecked Sendable {
    private let process = Process()
    let logPath: String
    private let name: String

    /// The Python with aiosmtpd: `CONTACT_VERIFY_PYTHON` (set by scripts/test), else the
    /// repository's `.venv`, else `python3`.
    static var python: String {
        if let configured = ProcessInfo.processInfo.environment["CONTACT_VERIFY_PYTHON"], !configured.isEmpty { return configured }
        let venv = TestApp.packageRoot + "/.venv/bin/python"
        return FileManager.default.isExecutableFile(atPath: venv) ? venv : "/usr/bin/python3"
    }

    init(_ executable: String, _ arguments: [String], log: String) throws {
        logPath = log
        let isPython = executable.hasSuffix("python") || executable.hasSuffix("python3")
        name = URL(fileURLWithPath: isPython ? arguments.first ?? executable : executable).lastPathComponent
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        try process.spawn()
    }

    /// Runs a short command to its end; throws with its output when it fails.
    static func runToCompletion(_ executable: String, _ arguments: [String], log: String) async throws {
        let server = try ServerProcess(executable, arguments, log: log)
        guard await server.process.exitStatus() == 0 else {
            throw ServerStartError("\(executable) failed: " + ((try? String(contentsOfFile: log, encoding: .utf8)) ?? ""))
        }
    }

    /// Waits until `port` accepts TCP connections: the server is listening. Connect-polls
    /// every 20 ms up to `seconds`; fails at once if the process ended.
    func waitUntilAccepting(port: Int, seconds: Double = 15) async throws {
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        while ContinuousClock.now < deadline {
            if FreePort.accepts(port) { return }
            guard process.isRunning else {
                throw ServerStartError("\(name) exited: " + ((try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""))
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw ServerStartError("\(name) did not listen on port \(port) within \(seconds) s")
    }

    /// Ends the process at once (`killAndWait()`): these test servers have nothing to flush (a
    /// message file is complete before the `250`).
    func stop() {
        process.killAndWait()
    }

    deinit { stop() }
}

struct ServerStartError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Temporary folders for the servers.
enum TemporaryFolder {
    static func make(_ prefix: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)").path
        // Reachable by the `nobody` user smtp-sink switches to.
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        return path
    }
}

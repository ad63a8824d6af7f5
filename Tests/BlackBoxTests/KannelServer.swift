import Foundation
import TestServers
import Testing

/// A real Kannel gateway (bearerbox + smsbox) with its fake SMSC, on free loopback ports in a
/// temporary folder; see real-servers.md. `received()` reads what the fake SMSC got.
final class KannelServer: @unchecked Sendable {
    static let bearerbox = "/usr/sbin/bearerbox"
    static let smsbox = "/usr/sbin/smsbox"
    static let fakesmsc = "/usr/lib/kannel/test/fakesmsc"
    static let username = "cv"
    static let password = "cv-secret"
    static let adminPassword = "admin-secret"

    let directory: String
    let adminPort: Int
    let boxPort: Int
    let sendsmsPort: Int
    let smscPort: Int
    private var bearer: Process?
    private var box: Process?
    private var smsc: Process?
    private var smscRuns = 0

    /// The sendsms URL for `--sms-url`.
    var sendsmsURL: String { "http://127.0.0.1:\(sendsmsPort)/cgi-bin/sendsms" }

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("cv-kannel-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let ports = try FreePort.several(4)
        (adminPort, boxPort, sendsmsPort, smscPort) = (ports[0], ports[1], ports[2], ports[3])
        // The configuration scripts/bench uses too, with its placeholders filled in.
        let template = try String(contentsOfFile: ServiceProcess.packageRoot + "/scripts/servers/kannel.conf.in", encoding: .utf8)
        let values = [
            "ADMIN_PORT": String(adminPort), "ADMIN_PASSWORD": Self.adminPassword, "BOX_PORT": String(boxPort),
            "SENDSMS_PORT": String(sendsmsPort), "SMSC_PORT": String(smscPort), "DIR": directory,
            "USERNAME": Self.username, "PASSWORD": Self.password,
        ]
        // Tests also read bearerbox's access log (one line per message sent, failed or expired);
        // the bench does without it, so that the log's writes do not slow the limit it measures.
        let configuration = values.reduce(template) { text, entry in
            text.replacingOccurrences(of: "@\(entry.key)@", with: entry.value)
        }.replacingOccurrences(of: "\nlog-level = 1\nstore-type", with: "\nlog-level = 1\naccess-log = \"\(directory)/access.log\"\nstore-type")
        try configuration.write(toFile: configurationPath, atomically: true, encoding: .utf8)
    }

    private var configurationPath: String { directory + "/kannel.conf" }

    /// Starts bearerbox, the fake SMSC and smsbox, and waits until the SMSC is online.
    func start() async throws {
        try await startBearerbox()
        try startSMSC()
        try startSmsbox()
        try await waitFor(FreePort.accepts(sendsmsPort), "smsbox's sendsms port")
        try await waitForSMSC(online: true)
    }

    func startBearerbox() async throws {
        try? FileManager.default.removeItem(atPath: directory + "/bearerbox.pid")
        let process = try run(Self.bearerbox, ["-p", directory + "/bearerbox.pid", configurationPath], log: "bearerbox.out")
        bearer = process
        try await waitFor(try running(process, log: "bearerbox.out") && FreePort.accepts(adminPort) && FreePort.accepts(smscPort), "bearerbox's ports")
    }

    func startSmsbox() throws {
        try? FileManager.default.removeItem(atPath: directory + "/smsbox.pid")
        box = try run(Self.smsbox, ["-p", directory + "/smsbox.pid", configurationPath], log: "smsbox.out")
    }

    /// Starts a fake SMSC; its debug lines go to `fakesmsc-<n>.log`.
    func startSMSC() throws {
        smscRuns += 1
        smsc = try run(
            Self.fakesmsc, ["-H", "127.0.0.1", "-r", String(smscPort), "-m", "0", "-v", "0", "-D", "receive", "100 200 text unused"],
            log: "fakesmsc-\(smscRuns).log")
    }

    /// Stops the fake SMSC (bearerbox then queues messages for it).
    func stopSMSC() async throws {
        stop(smsc)
        smsc = nil
        try await waitForSMSC(online: false)
    }

    /// Kills every box as a crash would, keeping the folder (and bearerbox's store) for a restart.
    func crash() {
        for process in [box, smsc, bearer] { stop(process) }
        box = nil
        smsc = nil
        bearer = nil
    }

    func stop() {
        for process in [box, smsc, bearer] { stop(process) }
        box = nil
        smsc = nil
        bearer = nil
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Every message the fake SMSCs received: (receiver, text).
    func received() -> [(to: String, text: String)] {
        (1...max(1, smscRuns)).flatMap { run -> [(to: String, text: String)] in
            guard let log = try? String(contentsOfFile: directory + "/fakesmsc-\(run).log", encoding: .utf8) else { return [] }
            return log.split(separator: "\n").compactMap { line in
                // DEBUG: Got message 1: <12345 +15551234567 text Your code is 123456>
                guard let open = line.range(of: "Got message "), let start = line[open.upperBound...].firstIndex(of: "<"),
                    line.hasSuffix(">")
                else { return nil }
                let fields = line[line.index(after: start)..<line.index(before: line.endIndex)].split(separator: " ", maxSplits: 3)
                guard fields.count == 4 else { return nil }
                return (String(fields[1]), String(fields[3]))
            }
        }
    }

    /// bearerbox's access-log lines (`Sent SMS`, `EXPIRED SMS`, … with `[to:…]`).
    func accessLog() -> [String] {
        let text = (try? String(contentsOfFile: directory + "/access.log", encoding: .utf8)) ?? ""
        return text.split(separator: "\n").map(String.init)
    }

    // MARK: Helpers

    /// Whether `process` still runs; throws with the end of its log if it exited.
    private func running(_ process: Process, log: String) throws -> Bool {
        guard process.isRunning else {
            let text = (try? String(contentsOfFile: directory + "/" + log, encoding: .utf8)) ?? ""
            throw KannelExited(log: String(text.suffix(2000)))
        }
        return true
    }

    private func waitForSMSC(online: Bool) async throws {
        try await waitFor(
            {
                guard let status = try? String(
                    contentsOf: URL(string: "http://127.0.0.1:\(adminPort)/status.txt?password=\(Self.adminPassword)")!, encoding: .utf8)
                else { return false }
                let line = status.split(separator: "\n").first { $0.contains("fake") } ?? ""
                return line.contains("online") == online
            }(), online ? "the SMSC online" : "the SMSC offline")
    }

    private func run(_ path: String, _ arguments: [String], log: String) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        guard FileManager.default.createFile(atPath: directory + "/" + log, contents: nil) else {
            throw WaitTimeout(what: "a log file in \(directory)")
        }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: directory + "/" + log))
        process.standardOutput = handle
        process.standardError = handle
        try process.spawn()
        return process
    }

    /// Kills a process outright: Kannel's boxes may take many seconds to shut down gracefully,
    /// and nothing of theirs needs to survive a test.
    private func stop(_ process: Process?) {
        process?.killAndWait()
    }

    deinit {
        stop()
    }
}

/// Waits until `condition` holds, checking every 20 ms for at most `seconds`: for servers and
/// processes outside the test's control, whose readiness cannot be awaited directly.
func waitFor(_ condition: @autoclosure () throws -> Bool, _ what: String, seconds: Double = 20) async throws {
    let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
    while ContinuousClock.now < deadline {
        if try condition() { return }
        try await Task.sleep(for: .milliseconds(20))
    }
    Issue.record("timed out waiting for \(what)")
    throw WaitTimeout(what: what)
}

struct WaitTimeout: Error { var what: String }

/// A Kannel box exited during start-up; `log` is the end of its output.
struct KannelExited: Error { var log: String }

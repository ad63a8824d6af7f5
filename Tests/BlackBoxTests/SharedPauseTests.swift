import Foundation
import Synchronization
import TestServers
import Testing

/// Two `contact-verify serve` processes on one PostgreSQL database, both sending SMS through
/// one `provider_stub.py` in Twilio mode (security.md F15): a gateway's `429` with
/// `Retry-After: 3` that one instance meets holds back both.
@Suite("A provider's pause across two instances on one PostgreSQL database")
struct SharedPauseTests {
    static let sender = "+15005550006"
    /// The stub answers this number `429` (Twilio 20429) with `Retry-After: 3`.
    static let limited = "+12025550429"
    static let retryAfter = Duration.seconds(3)

    /// The verification's `delivery` object, as the API shows it.
    static func delivery(_ instance: ServiceProcess, admin: String, _ id: String) async throws -> [String: Any] {
        let (_, body) = try await instance.request("GET", "/v1/accounts/acme/verifications/\(id)", key: admin)
        return json(body)["delivery"] as? [String: Any] ?? [:]
    }

    @Test("after one instance's 429 with Retry-After: 3 the stub gets no request from either instance for 3 s, and the messages started during the pause are sent after it (F15)")
    func pauseHoldsAcrossInstances() async throws {
        let stub = try await ProviderStub.start()
        let log = StubLogWatcher(stub)
        defer {
            log.cancel()
            stub.stop()
        }
        let url = try await PostgresServer.makeDatabaseURL() + "?sslmode=disable"
        let secret = ServiceProcess.randomSecretKey()
        let a = ServiceProcess()
        let b = ServiceProcess()
        defer {
            a.stop()
            b.stop()
            try? FileManager.default.removeItem(atPath: a.dataDirectory)
            try? FileManager.default.removeItem(atPath: b.dataDirectory)
        }
        let database = ["--database-url", url]
        _ = try await a.command(["accounts", "put", "acme"] + database)
        let admin = try await a.command(["keys", "create", "--admin"] + database)
        let twilio = [
            "--sms-provider", "twilio", "--sms-url", stub.baseURL, "--sms-username", ProviderStub.twilioSID,
            "--sms-password", ProviderStub.twilioToken, "--sms-from", Self.sender,
        ]
        // Fixed ports, so each instance's public URL (in Twilio's StatusCallback) names it in the stub's log.
        let ports = try FreePort.several(2)
        for (instance, port) in zip([a, b], ports) {
            try await instance.start(port: port, arguments: database + ["--secret-key", secret, "--public-url", "http://127.0.0.1:\(port)"] + twilio)
        }

        // The 429, through A (whichever worker claims it, the pause is in the store once the
        // failure is on the message: the transport records it before it returns).
        let limited = try await a.startSMSVerification(phone: Self.limited, key: admin)
        var lastError: String?
        let met = ContinuousClock.now + .seconds(30)
        while lastError == nil && ContinuousClock.now < met {
            try await Task.sleep(for: .milliseconds(20))
            lastError = (try await Self.delivery(a, admin: admin, limited)["lastError"] as? [String: Any])?["code"] as? String
        }
        try #require(lastError == "twilio_20429", "the 429 is on the message")
        // No second 429 later: the retry finds the verification canceled and sends nothing.
        let (canceled, _) = try await a.request("POST", "/v1/accounts/acme/verifications/\(limited)/cancel", key: admin)
        #expect(canceled == 200)

        // During the pause, verifications through B (whose worker is woken for them at once)
        // and through A.
        let good = (0..<6).map { "+1202555013\($0)" }
        let started = try await withThrowingTaskGroup(of: String.self) { group in
            for (i, phone) in good.enumerated() {
                group.addTask { try await (i % 2 == 0 ? b : a).startSMSVerification(phone: phone, key: admin) }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        var statuses: [String] = []
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            statuses = []
            for id in started { statuses.append(try await Self.delivery(b, admin: admin, id)["status"] as? String ?? "") }
            if statuses.allSatisfy({ $0 == "sent" }) { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(statuses == Array(repeating: "sent", count: good.count), "every message is sent after the pause")

        let records = await log.finish()
        let first429 = try #require(records.firstIndex { $0.record.status == 429 }, "the stub answered the 429")
        let pause = records[first429]
        // The stub logs a request before it answers, and the instance that met the 429 records
        // the pause after the answer, so every later request was logged at least 3 s after the
        // 429 was. The watcher brackets each log time between two of its reads: only what that
        // bracketing proves is asserted (a slow read widens it, never fails it).
        for entry in records[(first429 + 1)...] {
            let gap = entry.loggedBefore - pause.loggedAfter
            #expect(
                gap >= Self.retryAfter - .milliseconds(50),
                "a request to \(entry.record.field("To") ?? "?") from \(Self.instance(entry.record, ports)) was logged at most \(gap) after the 429")
        }
        for phone in good {
            let sent = records.filter { $0.record.field("To") == phone }
            #expect(sent.map(\.record.status) == [201], "\(phone): one request, answered 201")
        }
        #expect(records.allSatisfy { $0.record.problems.isEmpty }, "\(records.flatMap(\.record.problems))")
    }

    /// "A" or "B": the instance whose public URL is in the request's StatusCallback.
    static func instance(_ record: ProviderStub.Record, _ ports: [Int]) -> String {
        let callback = record.field("StatusCallback") ?? ""
        return callback.hasPrefix("http://127.0.0.1:\(ports[0])/") ? "A" : callback.hasPrefix("http://127.0.0.1:\(ports[1])/") ? "B" : "?"
    }
}

/// Reads the stub's JSONL request log every few milliseconds in the background, so each
/// request's log time is bracketed: after the start of the last read that did not have it,
/// before the end of the first read that did. (The log has no timestamps.)
final class StubLogWatcher: Sendable {
    struct Entry: Sendable {
        var record: ProviderStub.Record
        /// The request was logged after this instant…
        var loggedAfter: ContinuousClock.Instant
        /// …and before this one.
        var loggedBefore: ContinuousClock.Instant
    }

    private let entries = Mutex<[Entry]>([])
    private let task = Mutex<Task<Void, Never>?>(nil)
    private let stub: ProviderStub

    init(_ stub: ProviderStub) {
        self.stub = stub
        let started = Task { [self] in
            var lastStart = ContinuousClock.now
            while true {
                // Once canceled, one more read, so every request logged before is seen.
                let canceled = Task.isCancelled
                let start = ContinuousClock.now
                // A read that catches a line half written fails; the next one brackets it.
                if let records = try? stub.requests() {
                    let end = ContinuousClock.now
                    entries.withLock { entries in
                        for record in records.dropFirst(entries.count) {
                            entries.append(Entry(record: record, loggedAfter: lastStart, loggedBefore: end))
                        }
                    }
                    lastStart = start
                }
                if canceled { return }
                try? await Task.sleep(for: .milliseconds(5))
            }
        }
        task.withLock { $0 = started }
    }

    /// Stops watching after one last read and returns every request seen, in log order.
    func finish() async -> [Entry] {
        let running = task.withLock { $0 }
        running?.cancel()
        await running?.value
        return entries.withLock { $0 }
    }

    /// Stops watching.
    func cancel() {
        task.withLock { $0 }?.cancel()
    }
}

import Foundation
import Testing

/// Fault F20: the disk is full when SQLite writes its WAL during `COMMIT`, under a running
/// `serve`. The binary runs with `scripts/servers/fail_enospc.c` preloaded, which makes writes
/// to the `-wal` file fail with ENOSPC once a flag file exists (SQLite reports that as
/// `SQLITE_FULL`). Policy: a full disk refuses the write with 503 and `Retry-After`, keeps
/// nothing of it, keeps the process up, and the same request succeeds once there is room.
@Suite("The disk is full at the WAL write")
struct DiskFullTests {
    static let database = "contact-verify.sqlite"

    /// A temporary folder with the compiled shim; `flag` is the file that switches it on.
    struct Setup {
        let folder: String
        let shim: String
        var flag: String { folder + "/disk-full" }

        init() async throws {
            folder = FileManager.default.temporaryDirectory.appendingPathComponent("cv-enospc-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            shim = try await Tools.compileShim("fail_enospc", into: folder)
        }

        /// Turns the full disk on or off.
        func diskFull(_ full: Bool) throws {
            if full {
                #expect(FileManager.default.createFile(atPath: flag, contents: nil))
            } else {
                try FileManager.default.removeItem(atPath: flag)
            }
        }

        /// `serve` on `folder/data` with the shim preloaded (failing only WAL writes whose bytes
        /// contain `pattern`, if given); returns it and an admin API key.
        func startService(pattern: String? = nil, arguments: [String] = []) async throws -> (ServiceProcess, String) {
            let service = ServiceProcess(dataDirectory: folder + "/data")
            _ = try await service.command(["accounts", "put", "acme"])
            let admin = try await service.command(["keys", "create", "--admin"])
            var environment = ["LD_PRELOAD": shim, "FAIL_ENOSPC_FLAG": flag]
            if let pattern { environment["FAIL_ENOSPC_PATTERN"] = pattern }
            try await service.start(arguments: arguments, environment: environment)
            return (service, admin)
        }
    }

    /// Rows of `sql` on the running service's database, read by a separate `sqlite3` (no shim).
    static func query(_ service: ServiceProcess, _ sql: String) async throws -> String {
        try await Tools.sqlite(service.dataDirectory + "/" + database, sql, readOnly: true)
    }

    /// A 503 `storage_full` problem with `Retry-After: 30`, naming no SQLite message or file.
    static func expectStorageFull(_ reply: ServiceProcess.Reply) {
        #expect(reply.status == 503, "\(reply.status) \(reply.body)")
        #expect(reply.header("Content-Type") == "application/problem+json")
        #expect(reply.object["code"] as? String == "storage_full", "\(reply.body)")
        #expect(reply.header("Retry-After") == "30")
        for leak in ["sql", "database or disk", "-wal"] {
            #expect(!reply.body.lowercased().contains(leak), "the body reveals \(leak): \(reply.body)")
        }
    }

    @Test("F20: while every WAL write fails with ENOSPC, creates get 503 storage_full with Retry-After 30 and leave no row, reads still work and the process stays up; with room again the same creates get 201, and after a clean stop integrity_check is ok with exactly one row per address")
    func fullDiskRefusesWritesAndRecovers() async throws {
        let setup = try await Setup()
        defer { try? FileManager.default.removeItem(atPath: setup.folder) }
        let (service, admin) = try await setup.startService()
        defer { service.stop() }

        let acknowledged = try await ServiceProcess.createContacts(16, account: "acme", key: admin, through: [service])
        #expect(Set(acknowledged).count == 16)

        try setup.diskFull(true)
        // Eight at once, so that several can share one group transaction whose COMMIT fails.
        let bodies = (0..<8).map { #"{"name":"Full \#($0)","email":"full\#($0)@example.com"}"# }
        // A request the process died under is nil. No child throws: a throwing child would
        // cancel the others, and cancelling a URLSession request as its connection fails can
        // deadlock in swift-corelibs-foundation, which would hang the test instead of failing it.
        let refused = await withTaskGroup(of: ServiceProcess.Reply?.self) { group in
            for body in bodies {
                group.addTask { try? await service.send("POST", "/v1/accounts/acme/contacts", key: admin, body: body) }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
        #expect(refused.count == bodies.count)
        for reply in refused {
            guard let reply else {
                Issue.record("the connection ended without an answer (the process is running: \(service.process.isRunning))")
                continue
            }
            Self.expectStorageFull(reply)
        }
        try #require(service.process.isRunning, "the process stopped on a full disk")
        // A lone request afterwards is refused the same way: the failure does not escalate.
        Self.expectStorageFull(try await service.send("POST", "/v1/accounts/acme/contacts", key: admin, body: bodies[0]))

        // Up, still answering reads, and none of the refused contacts exists.
        #expect(service.process.isRunning)
        for id in acknowledged.prefix(4) {
            let (status, body) = try await service.request("GET", "/v1/accounts/acme/contacts/\(id)", key: admin)
            #expect(status == 200, "acknowledged contact \(id) while the disk is full: \(body)")
        }
        for i in 0..<bodies.count {
            let lookup = try await service.send("GET", "/v1/accounts/acme/addresses/lookup?email=full\(i)@example.com", key: admin)
            #expect(lookup.status == 200, "\(lookup.body)")
            #expect(lookup.object["contactId"] is NSNull, "a refused create left a contact: \(lookup.body)")
        }
        #expect(try await Self.query(service, "SELECT count(*) FROM contacts") == "16")

        try setup.diskFull(false)
        for body in bodies {
            let retried = try await service.send("POST", "/v1/accounts/acme/contacts", key: admin, body: body)
            #expect(retried.status == 201, "with room again: \(retried.status) \(retried.body)")
        }
        #expect(service.process.isRunning)
        #expect(await service.terminate() == 0)

        let path = service.dataDirectory + "/" + Self.database
        #expect(try await Tools.sqlite(path, "PRAGMA integrity_check") == "ok")
        #expect(try await Tools.sqlite(path, "SELECT count(*) FROM contacts") == "24")
        let expected = (0..<bodies.count).map { "full\($0)@example.com|1" }.joined(separator: "\n")
        #expect(try await Tools.sqlite(path, "SELECT email, count(*) FROM contacts WHERE email LIKE 'full%' GROUP BY email ORDER BY email") == expected)
    }

    /// Bytes found only in a stored verification response: a key of its JSON body. No column,
    /// request body or other stored row holds it, so with it as the shim's pattern only the
    /// transaction that stores that response fails.
    static let storedVerificationResponse = #""attemptsRemaining""#

    @Test("F20 after the commit: when the disk is full only for the write that stores an idempotent response, the start still answers 202 with its verification, and retries of the key (disk still full, then with room) answer Idempotent-Replayed with the same verification: one verification, one message, one email")
    func fullDiskAfterTheCommitKeepsTheSuccess() async throws {
        let setup = try await Setup()
        defer { try? FileManager.default.removeItem(atPath: setup.folder) }
        // A long lease: a delivery record the fault spoils must not be resent within the test.
        let (service, admin) = try await setup.startService(pattern: Self.storedVerificationResponse, arguments: ["--outbox-lease", "600"])
        defer { service.stop() }

        let created = try await service.send("POST", "/v1/accounts/acme/contacts", key: admin, body: #"{"name":"Ann","email":"ann@example.com"}"#)
        #expect(created.status == 201, "\(created.body)")
        let contact = try #require(created.object["id"] as? String)
        let path = "/v1/accounts/acme/contacts/\(contact)/verifications"
        let start = #"{"channel":"email","method":"code"}"#
        let key = ["Idempotency-Key": "disk-full-after-commit"]
        let claim = "SELECT status IS NULL, resource_id FROM idempotency_keys WHERE key = 'disk-full-after-commit'"

        try setup.diskFull(true)
        let first = try await service.send("POST", path, key: admin, body: start, headers: key)
        #expect(first.status == 202, "the start committed, so its caller hears so: \(first.status) \(first.body)")
        #expect(first.header("Idempotent-Replayed") == nil)
        let verification = try #require(first.object["id"] as? String)
        // The response was answered only after its store failed: the claim holds the
        // verification's id and no response. (Without the fault this is `0|<id>`.)
        #expect(try await Self.query(service, claim) == "1|\(verification)")

        // A retry while the disk is still full is answered from the verification.
        let second = try await service.send("POST", path, key: admin, body: start, headers: key)
        #expect(second.status == 202, "\(second.body)")
        #expect(second.header("Idempotent-Replayed") == "true")
        #expect(second.object["id"] as? String == verification)
        #expect(try await Self.query(service, claim) == "1|\(verification)")

        // With room again the rebuilt response is stored, and later retries get it byte for byte.
        try setup.diskFull(false)
        let third = try await service.send("POST", path, key: admin, body: start, headers: key)
        #expect(third.status == 202, "\(third.body)")
        #expect(third.header("Idempotent-Replayed") == "true")
        #expect(third.object["id"] as? String == verification)
        #expect(try await Self.query(service, claim) == "0|\(verification)")
        let fourth = try await service.send("POST", path, key: admin, body: start, headers: key)
        #expect(fourth.status == 202)
        #expect(fourth.header("Idempotent-Replayed") == "true")
        #expect(fourth.body == third.body)

        // Nothing ran twice: one verification sent once, one message, one email.
        #expect(try await Self.query(service, "SELECT id, send_count FROM verifications WHERE contact_id = '\(contact)'") == "\(verification)|1")
        #expect(try await Self.query(service, "SELECT count(*) FROM messages WHERE verification_id = '\(verification)'") == "1")
        try await waitFor(try Self.emails(service, to: "ann@example.com") >= 1, "the verification's email")
        #expect(service.process.isRunning)
        #expect(await service.terminate() == 0)
        #expect(try Self.emails(service, to: "ann@example.com") == 1)
        #expect(try await Tools.sqlite(service.dataDirectory + "/" + Self.database, "PRAGMA integrity_check") == "ok")
    }

    /// The `.eml` files the file transport wrote to `address`.
    static func emails(_ service: ServiceProcess, to address: String) throws -> Int {
        let folder = service.dataDirectory + "/outbox/email"
        guard FileManager.default.fileExists(atPath: folder) else { return 0 }
        return try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".eml") }.count { file in
            let text = (try? String(contentsOfFile: folder + "/" + file, encoding: .utf8)) ?? ""
            return text.components(separatedBy: "\r\n").contains { $0.hasPrefix("To: ") && $0.contains(address) }
        }
    }
}

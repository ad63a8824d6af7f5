import Foundation
import Testing

/// Fault F21: fsync fails with EIO under a running `serve` on SQLite. The binary runs with
/// `scripts/servers/fail_fsync.c` preloaded, which makes `fsync` and `fdatasync` fail once a
/// flag file exists. Policy (R-3): the process stops instead of carrying on, and a restart on
/// the same data folder has every acknowledged write.
@Suite("fsync fails with EIO")
struct FsyncFailureTests {
    /// `EX_IOERR`, the status the SQLite store exits with after an I/O error on a commit.
    static let ioErrorExitStatus: Int32 = 74

    @Test("F21: once fsync fails with EIO the process exits with status 74 and no write is acknowledged; after a restart integrity_check is ok and every acknowledged contact is there")
    func fsyncFailureStopsTheProcess() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("cv-fsync-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let shim = try await Tools.compileShim("fail_fsync", into: folder)
        let flag = folder + "/fail-fsync"

        let service = ServiceProcess(dataDirectory: folder + "/data")
        _ = try await service.command(["accounts", "put", "acme"])
        let admin = try await service.command(["keys", "create", "--admin"])
        try await service.start(environment: ["LD_PRELOAD": shim, "FAIL_FSYNC_FLAG": flag])
        defer { service.stop() }

        // Acknowledged before the fault (each 201 came after its commit's fsync).
        let acknowledged = try await ServiceProcess.createContacts(24, account: "acme", key: admin, through: [service])
        #expect(Set(acknowledged).count == 24)

        // From now on every fsync fails. The next write must not be acknowledged, and the
        // process must stop rather than go on writing.
        #expect(FileManager.default.createFile(atPath: flag, contents: nil))
        let answer: Int?
        do {
            let (status, _) = try await service.request(
                "POST", "/v1/accounts/acme/contacts", key: admin, body: #"{"name":"After","email":"after@example.com"}"#)
            answer = status
        } catch {
            answer = nil  // the connection ended without an answer: the process is gone
        }
        #expect(answer.map { !(200..<300).contains($0) } ?? true, "a write after the failed fsync was answered \(answer ?? 0)")
        try await waitFor(!service.process.isRunning, "the process to exit after the failed fsync", seconds: 15)
        #expect(service.process.terminationReason == .exit, "ended by a signal, not by the store's exit")
        #expect(service.process.terminationStatus == Self.ioErrorExitStatus)

        // The supervisor's restart, on the same data and without the shim.
        let restarted = ServiceProcess(dataDirectory: service.dataDirectory)
        try await restarted.start()
        for id in acknowledged {
            let (status, body) = try await restarted.request("GET", "/v1/accounts/acme/contacts/\(id)", key: admin)
            #expect(status == 200, "acknowledged contact \(id) after the restart: \(body)")
        }
        #expect(await restarted.terminate() == 0)
        let database = service.dataDirectory + "/contact-verify.sqlite"
        #expect(try await Tools.sqlite(database, "PRAGMA integrity_check") == "ok")
        let count = try #require(Int(try await Tools.sqlite(database, "SELECT count(*) FROM contacts")))
        // The unacknowledged contact may or may not have reached the disk; nothing else is there.
        #expect(count == 24 || count == 25, "\(count) contacts")
    }
}

import Foundation
import Testing

@Suite("A batch across a crash of the binary")
struct BatchRestartTests {
    @Test("kill -9 in the middle of a 2,000-contact batch: after a restart every contact has exactly one message and the counts add up")
    func killMidBatch() async throws {
        let total = 2000
        let first = ServiceProcess()
        defer { try? FileManager.default.removeItem(atPath: first.dataDirectory) }
        _ = try await first.command(["accounts", "put", "acme"])
        let admin = try await first.command(["keys", "create", "--admin"])
        try await first.start(arguments: ["--batch-rate", "400"])

        let ids = try await ServiceProcess.createContacts(total, account: "acme", key: admin, through: [first])
        #expect(Set(ids).count == total)
        let (status, created) = try await first.request(
            "POST", "/v1/accounts/acme/verification-batches", key: admin, body: #"{"channel":"email","filter":{"status":"not_verified"}}"#)
        #expect(status == 202)
        let batch = try #require(json(created)["id"] as? String)

        // Kill the process once part of the batch is done, but not all of it.
        var progressed = 0
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            let (_, read) = try await first.request("GET", "/v1/accounts/acme/verification-batches/\(batch)/items?limit=500", key: admin)
            progressed = ((json(read)["items"] as? [[String: Any]]) ?? []).filter { $0["verificationId"] is String }.count
            if progressed >= 100 { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        await first.kill()
        #expect(progressed >= 100 && progressed < 500, "killed mid-batch after \(progressed) items")

        let second = ServiceProcess(dataDirectory: first.dataDirectory)
        try await second.start(arguments: ["--batch-rate", "400"])
        defer { second.stop() }
        var counts: [String: Int] = [:]
        let finish = ContinuousClock.now + .seconds(120)
        while ContinuousClock.now < finish {
            let (_, read) = try await second.request("GET", "/v1/accounts/acme/verification-batches/\(batch)", key: admin)
            let object = json(read)
            counts = object["counts"] as? [String: Int] ?? [:]
            if object["status"] as? String == "completed" && counts["sent"] == total { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(counts == ["queued": 0, "sent": total, "failed": 0, "skipped": 0, "verified": 0])
        #expect(counts.values.reduce(0, +) == total)

        // Exactly one message per contact (a message left claimed by the killed process may be
        // re-sent only if its outcome was unknown; the file transport overwrites by message id).
        let folder = first.dataDirectory + "/outbox/email"
        let files = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".eml") }
        var recipients: [String: Int] = [:]
        for file in files {
            let text = try String(contentsOfFile: folder + "/" + file, encoding: .utf8)
            let to = text.components(separatedBy: "\r\n").first { $0.hasPrefix("To: ") } ?? ""
            recipients[to, default: 0] += 1
        }
        #expect(recipients.count == total)
        #expect(recipients.values.allSatisfy { $0 == 1 })
    }
}

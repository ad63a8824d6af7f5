import Foundation
import TestServers
import Testing

/// Two `contact-verify serve` processes on one PostgreSQL database, each writing what it sends
/// to its own data folder (the file transport names each email after its message id), so the
/// test sees which instance sent what.
@Suite("Two instances on one PostgreSQL database")
struct SharedDatabaseTests {
    /// Message id → recipient of every email an instance wrote.
    static func emails(_ instance: ServiceProcess) throws -> [String: String] {
        let folder = instance.dataDirectory + "/outbox/email"
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder) else { return [:] }
        var sent: [String: String] = [:]
        for name in names where name.hasSuffix(".eml") {
            let text = try String(contentsOfFile: folder + "/" + name, encoding: .utf8)
            sent[String(name.dropLast(4))] = text.components(separatedBy: "\r\n").first { $0.hasPrefix("To: ") } ?? ""
        }
        return sent
    }

    /// Every SMS an instance wrote: id, recipient and text.
    static func sms(_ instance: ServiceProcess) throws -> [(id: String, to: String, text: String)] {
        guard let text = try? String(contentsOfFile: instance.dataDirectory + "/outbox/sms.jsonl", encoding: .utf8) else { return [] }
        return text.split(separator: "\n").map { line in
            let object = json(String(line))
            return (object["id"] as? String ?? "", object["to"] as? String ?? "", object["text"] as? String ?? "")
        }
    }

    @Test("verifications and a 2,000-contact batch through both: each message sent once, the cooldown holds across them, a kill loses nothing")
    func twoInstances() async throws {
        let url = try await PostgresServer.makeDatabaseURL() + "?sslmode=disable"
        let secret = ServiceProcess.randomSecretKey()
        let a = ServiceProcess()
        let b = ServiceProcess()
        defer {
            a.stop()
            try? FileManager.default.removeItem(atPath: a.dataDirectory)
            try? FileManager.default.removeItem(atPath: b.dataDirectory)
        }
        let database = ["--database-url", url]
        _ = try await a.command(["accounts", "put", "acme"] + database)
        _ = try await a.command(["accounts", "put", "bulk"] + database)
        let admin = try await a.command(["keys", "create", "--admin"] + database)
        // A short outbox lease, so the messages the killed instance had claimed go out soon.
        let shared = database + ["--secret-key", secret, "--outbox-lease", "6", "--batch-rate", "150"]
        try await a.start(arguments: shared)
        try await b.start(arguments: shared)

        // A verification started on A: a resend through B meets A's cooldown; the code, checked
        // through B, approves it (one secret, one state).
        let (created, contact) = try await a.request(
            "POST", "/v1/accounts/acme/contacts", key: admin, body: #"{"name":"Ann","phone":"+8613800138000"}"#)
        #expect(created == 201)
        let contactID = try #require(json(contact)["id"] as? String)
        let (startStatus, verification) = try await a.request(
            "POST", "/v1/accounts/acme/contacts/\(contactID)/verifications", key: admin, body: #"{"channel":"sms","method":"code"}"#)
        #expect(startStatus == 202)
        let verificationID = try #require(json(verification)["id"] as? String)
        let (resent, refusal) = try await b.request(
            "POST", "/v1/accounts/acme/contacts/\(contactID)/verifications", key: admin, body: #"{"channel":"sms","method":"code"}"#)
        #expect(resent == 429, "resend through the other instance: \(refusal)")

        var texts: [(id: String, to: String, text: String)] = []
        let sent = ContinuousClock.now + .seconds(30)
        while texts.isEmpty && ContinuousClock.now < sent {
            try await Task.sleep(for: .milliseconds(50))
            texts = try Self.sms(a) + Self.sms(b)
        }
        #expect(texts.count == 1, "one SMS for one verification: \(texts.map(\.id))")
        let code = try #require(texts.first?.text.firstMatch(of: /\b(\d{6})\b/)?.1)
        let (checked, approval) = try await b.request(
            "POST", "/v1/accounts/acme/verifications/\(verificationID)/check", key: admin, body: #"{"code":"\#(code)"}"#)
        #expect(checked == 200)
        #expect(json(approval)["status"] as? String == "approved")

        // 2,000 contacts of another account, created through both instances.
        let total = 2000
        let ids = try await ServiceProcess.createContacts(total, account: "bulk", key: admin, through: [a, b])
        #expect(Set(ids).count == total)
        let (accepted, batchBody) = try await a.request(
            "POST", "/v1/accounts/bulk/verification-batches", key: admin, body: #"{"channel":"email","filter":{"status":"not_verified"}}"#)
        #expect(accepted == 202, "\(batchBody)")
        let batch = try #require(json(batchBody)["id"] as? String)

        // Kill B once it has sent part of the batch, with most of the batch still to go.
        var fromB = 0
        var started = 0
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            fromB = try Self.emails(b).count
            let (_, read) = try await a.request("GET", "/v1/accounts/bulk/verification-batches/\(batch)", key: admin)
            let counts = json(read)["counts"] as? [String: Int] ?? [:]
            started = total - (counts["queued"] ?? total)
            if fromB >= 20 { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        await b.kill()
        #expect(fromB >= 20 && started < total, "B killed mid-batch: B sent \(fromB), \(started) of \(total) started")

        var counts: [String: Int] = [:]
        let finish = ContinuousClock.now + .seconds(120)
        while ContinuousClock.now < finish {
            let (_, read) = try await a.request("GET", "/v1/accounts/bulk/verification-batches/\(batch)", key: admin)
            let object = json(read)
            counts = object["counts"] as? [String: Int] ?? [:]
            if object["status"] as? String == "completed" && counts["sent"] == total { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(counts == ["queued": 0, "sent": total, "failed": 0, "skipped": 0, "verified": 0])

        // One message per contact. The same message id in both folders is a message B had
        // claimed and may have written when it was killed: A sends it again once B's lease runs
        // out (at-least-once, never two different messages). Only B's last claim can be that.
        let sentByA = try Self.emails(a)
        let sentByB = try Self.emails(b)
        var messagesByRecipient: [String: Set<String>] = [:]
        for (id, to) in sentByA.merging(sentByB, uniquingKeysWith: { first, _ in first }) {
            messagesByRecipient[to, default: []].insert(id)
        }
        #expect(messagesByRecipient.count == total)
        #expect(messagesByRecipient.values.allSatisfy { $0.count == 1 })
        #expect(!sentByA.isEmpty && !sentByB.isEmpty)
        let sentTwice = Set(sentByA.keys).intersection(sentByB.keys)
        #expect(sentTwice.count <= 64, "\(sentTwice.count) messages sent by both instances")
    }

    @Test("on PostgreSQL an instance without a shared secret (--secret-key or --secret-key-file) refuses to start, saying why")
    func sharedSecretRequired() async throws {
        let url = try await PostgresServer.makeDatabaseURL() + "?sslmode=disable"
        let service = ServiceProcess()
        defer { try? FileManager.default.removeItem(atPath: service.dataDirectory) }
        await #expect {
            try await service.start(arguments: ["--database-url", url])
        } throws: { error in
            guard case ServiceProcess.ServiceError.exited(let log) = error else { return false }
            return log.contains("--secret-key-file") && !log.contains("cv-test-password")
        }
    }
}

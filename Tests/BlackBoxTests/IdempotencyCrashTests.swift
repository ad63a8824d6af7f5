import Foundation
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// F1 and F2: `kill -9` of the binary while idempotent starts are in flight, before or after
/// their commit, then a restart on the same data and a retry of every key.
@Suite("Idempotency-Key across a kill -9 of the binary")
struct IdempotencyCrashTests {
    /// One answer: status, the headers that matter here, and the body.
    struct Answer: Sendable {
        var status: Int
        var retryAfter: Int?
        var replayed: Bool
        var body: String

        var verificationID: String? {
            ((try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any])?["id"] as? String
        }
    }

    /// Where a kill left one key, read from the database before the restart.
    enum Window: String, CaseIterable, Sendable {
        /// No claim: the request had not reached the store (or never left the client).
        case notClaimed = "not claimed"
        /// Claimed, nothing committed (F2).
        case claimed
        /// The start committed, its response was never stored (F1).
        case committed = "committed, no stored response"
        /// The response was stored.
        case completed
    }

    static let database = "contact-verify.sqlite"

    /// POSTs a code start for `contactID` under `idempotencyKey`.
    static func start(_ service: ServiceProcess, contactID: String, idempotencyKey: String, apiKey: String) async throws -> Answer {
        var request = URLRequest(url: URL(string: service.baseURL + "/v1/accounts/acme/contacts/\(contactID)/verifications")!)
        request.httpMethod = "POST"
        request.setValue("Bearer \(apiKey)", forHTTPHeaderField: "Authorization")
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.setValue(idempotencyKey, forHTTPHeaderField: "Idempotency-Key")
        request.httpBody = Data(#"{"channel":"email","method":"code"}"#.utf8)
        let (data, response) = try await URLSession.shared.data(for: request)
        let http = response as? HTTPURLResponse
        return Answer(
            status: http?.statusCode ?? 0, retryAfter: (http?.value(forHTTPHeaderField: "Retry-After")).flatMap { Int($0) },
            replayed: http?.value(forHTTPHeaderField: "Idempotent-Replayed") == "true", body: String(decoding: data, as: UTF8.self))
    }

    /// Runs one statement with the `sqlite3` shell on the service's database; rows as `|`-separated lines.
    static func query(_ service: ServiceProcess, _ sql: String) async throws -> [[String]] {
        let output = try await Tools.sqlite(service.dataDirectory + "/" + database, sql, readOnly: true)
        return output.split(separator: "\n").map { $0.split(separator: "|", omittingEmptySubsequences: false).map(String.init) }
    }

    /// Every `.eml` the file transport wrote, counted by its `To:` line.
    static func emailsByRecipient(_ service: ServiceProcess) throws -> [String: Int] {
        let folder = service.dataDirectory + "/outbox/email"
        var recipients: [String: Int] = [:]
        for file in try FileManager.default.contentsOfDirectory(atPath: folder) where file.hasSuffix(".eml") {
            let text = try String(contentsOfFile: folder + "/" + file, encoding: .utf8)
            recipients[text.components(separatedBy: "\r\n").first { $0.hasPrefix("To: ") } ?? "", default: 0] += 1
        }
        return recipients
    }

    @Test("kill -9 during rounds of idempotent starts, then a retry of each key: a 202 naming the first answer's verification, one verification, one message and one email per contact, no 5xx")
    func killDuringStarts() async throws {
        // At least 20 rounds, more (up to 40) until kills have landed both before a commit (F2)
        // and between a commit and its stored response (F1).
        let rounds = 20
        let maxRounds = 40
        let perRound = 8
        // A short in-flight timeout for the claims the kills leave, and a short lease for the
        // messages they leave claimed, so both are taken over within seconds.
        let arguments = ["--idempotency-timeout", "1", "--outbox-lease", "6"]
        var service = ServiceProcess()
        let data = service.dataDirectory
        defer { try? FileManager.default.removeItem(atPath: data) }
        _ = try await service.command(["accounts", "put", "acme"])
        let apiKey = try await service.command(["keys", "create", "--admin"])
        try await service.start(arguments: arguments)
        let all = try await ServiceProcess.createContacts((maxRounds + 1) * perRound, account: "acme", key: apiKey, through: [service])
        // How long a round takes unharmed (mostly the argon2 hashes before the commits): the
        // kills fall at random within it, so they land before, between and after the commits.
        let clock = ContinuousClock()
        let warm = service
        let roundTime = try await clock.measure {
            try await withThrowingTaskGroup(of: Int.self) { tasks in
                for contact in all.prefix(perRound) {
                    tasks.addTask { try await Self.start(warm, contactID: contact, idempotencyKey: "warm-\(contact)", apiKey: apiKey).status }
                }
                for try await status in tasks { #expect(status == 202) }
            }
        }
        let spread = max(20, Int(roundTime / .milliseconds(1)))

        var windows: [Window: Int] = [:]
        var answered: [String: String] = [:]  // contact id → verification id of its final 202
        var round = 0
        while round < rounds || (windows[.committed] == nil || windows[.claimed] == nil) && round < maxRounds {
            let group = Array(all[((round + 1) * perRound)..<((round + 2) * perRound)])
            round += 1
            let current = service
            // Every start of the round at once, then a kill at a random point of a round's time.
            let firstTries = Task {
                await withTaskGroup(of: (String, Answer?).self) { tasks in
                    for contact in group {
                        tasks.addTask { (contact, try? await Self.start(current, contactID: contact, idempotencyKey: "key-\(contact)", apiKey: apiKey)) }
                    }
                    return await tasks.reduce(into: [String: Answer]()) { $0[$1.0] = $1.1 }
                }
            }
            try await Task.sleep(for: .milliseconds(Int.random(in: 0...spread)))
            await service.kill()
            let first = await firstTries.value

            let rows = try await Self.query(
                service, "SELECT key, status IS NOT NULL, resource_id IS NOT NULL FROM idempotency_keys WHERE key LIKE 'key-%'")
            var window: [String: Window] = [:]
            for row in rows where row.count == 3 {
                window[String(row[0].dropFirst(4))] = row[1] == "1" ? .completed : row[2] == "1" ? .committed : .claimed
            }
            service = ServiceProcess(dataDirectory: data)
            try await service.start(arguments: arguments)

            for contact in group {
                let left = window[contact] ?? .notClaimed
                windows[left, default: 0] += 1
                let firstAnswer = first[contact] ?? nil
                if let firstAnswer {
                    #expect(firstAnswer.status < 500, "first try for \(contact): \(firstAnswer.status) \(firstAnswer.body)")
                }
                // Retry the same key, following 409 Retry-After, until it is answered.
                var retry = try await Self.start(service, contactID: contact, idempotencyKey: "key-\(contact)", apiKey: apiKey)
                let deadline = ContinuousClock.now + .seconds(10)
                while retry.status == 409, ContinuousClock.now < deadline {
                    #expect(left == .claimed, "409 only for a claim that committed nothing")
                    #expect(retry.retryAfter != nil)
                    try await Task.sleep(for: .seconds(retry.retryAfter ?? 1))
                    retry = try await Self.start(service, contactID: contact, idempotencyKey: "key-\(contact)", apiKey: apiKey)
                }
                #expect(retry.status == 202, "round \(round), \(left.rawValue): \(retry.status) \(retry.body)")
                let id = try #require(retry.verificationID)
                // What committed before the kill is answered from, never run again.
                #expect(retry.replayed == (left == .committed || left == .completed), "round \(round), \(left.rawValue)")
                if let firstAnswer, firstAnswer.status == 202 {
                    #expect(firstAnswer.verificationID == id, "the retry names the verification of the first 202")
                    #expect(firstAnswer.body == retry.body, "a stored response is replayed byte for byte")
                }
                answered[contact] = id
            }
        }
        let contacts = Array(answered.keys)
        let summary = Window.allCases.map { "\($0.rawValue): \(windows[$0] ?? 0)" }.joined(separator: ", ")
        print("IdempotencyCrashTests: a round took \(spread) ms; where \(round) kills left the \(contacts.count) keys: \(summary)")
        // Whether a kill lands between a commit and its stored response is chance (often 4–7
        // of 160 keys; none on a loaded machine): printed above, and IdempotencyRecoveryTests
        // cover that window deterministically.
        #expect(windows[.claimed] != nil, "no kill landed between a claim and its commit in \(round) rounds")

        // One verification per contact, the one every retry named, with one message and one send.
        let verifications = try await Self.query(service, "SELECT contact_id, id, send_count FROM verifications").filter { answered[$0[0]] != nil }
        #expect(verifications.count == contacts.count)
        #expect(Dictionary(verifications.map { ($0[0], $0[1]) }, uniquingKeysWith: { a, _ in a }) == answered)
        #expect(verifications.allSatisfy { $0[2] == "1" })
        let ids = Set(answered.values)
        let messages = try await Self.query(service, "SELECT verification_id, COUNT(*) FROM messages GROUP BY verification_id").filter { ids.contains($0[0]) }
        #expect(messages.count == contacts.count)
        #expect(messages.allSatisfy { $0[1] == "1" })
        // Every key ends with the stored 202 of its contact's verification.
        let keys = try await Self.query(service, "SELECT key, status, resource_id FROM idempotency_keys WHERE key LIKE 'key-%'")
        #expect(keys.count == contacts.count)
        #expect(keys.allSatisfy { $0[1] == "202" && answered[String($0[0].dropFirst(4))] == $0[2] })

        // The last instance sends everything (messages a kill left claimed after their lease):
        // one email per contact, the warm-up's included.
        let deadline = ContinuousClock.now + .seconds(30)
        var unsent = try await Self.query(service, "SELECT COUNT(*) FROM messages WHERE status <> 'sent'")
        while unsent != [["0"]], ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(100))
            unsent = try await Self.query(service, "SELECT COUNT(*) FROM messages WHERE status <> 'sent'")
        }
        #expect(unsent == [["0"]], "every message sent")
        let recipients = try Self.emailsByRecipient(service)
        #expect(recipients.count == contacts.count + perRound)
        #expect(recipients.values.allSatisfy { $0 == 1 })
        #expect(await service.terminate() == 0)
    }
}

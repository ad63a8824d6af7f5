import Foundation
import TestServers
import Testing

/// The binary killed with SIGKILL while a Twilio gateway holds its answer to messages it has
/// accepted, then restarted on the same data folder once the gateway answers at once (fault F3
/// over SMS).
///
/// `provider_stub.py --hold-file` logs each request (the provider has the message) and then
/// holds its 201 while the file exists, so the test kills the binary once the log shows every
/// message held: after the provider's accept, before the service could mark the message sent.
/// The restarted binary sends the messages again once the killed one's outbox lease has run
/// out. A request is matched to its message by Twilio's `StatusCallback`: the delivery-report
/// reference in it starts with the message id.
@Suite("SMS: the binary killed while the gateway holds its 201, restarted against a gateway that answers")
struct SMSKillTests {
    /// The outbox lease: short, so the test takes seconds; the service refuses a lease that is
    /// not longer than the SMS gateway's 10 s timeout plus 5 s of pacing.
    static let lease = 16
    /// The numbers whose messages are held at the kill (`+12025550NNN` succeed at the stub).
    static let heldPhones = ["+12025550121", "+12025550122", "+12025550123"]
    /// A number whose message is sent and marked sent before the kill.
    static let controlPhone = "+12025550120"
    /// Fixed, so both runs put the same delivery-report address in `StatusCallback`.
    static let publicURL = "https://verify.example.test"

    static func serveArguments(_ stub: ProviderStub) -> [String] {
        [
            "--public-url", publicURL, "--sms-provider", "twilio", "--sms-url", stub.baseURL, "--sms-username", ProviderStub.twilioSID,
            "--sms-password", ProviderStub.twilioToken, "--sms-from", "+15005550006", "--outbox-lease", String(lease),
        ]
    }

    /// The verification's latest message as the API shows it: its status and attempts.
    static func delivery(_ service: ServiceProcess, _ verification: String, key: String) async throws -> (status: String, attempts: Int) {
        let (_, body) = try await service.request("GET", "/v1/accounts/acme/verifications/\(verification)", key: key)
        let delivery = json(body)["delivery"] as? [String: Any]
        return (delivery?["status"] as? String ?? "", delivery?["attempts"] as? Int ?? 0)
    }

    /// Polls every 100 ms until every one of `verifications` has its message `sent`, for at
    /// most `seconds`; records an issue with the states seen if they never are.
    static func waitUntilSent(_ service: ServiceProcess, _ verifications: [String], key: String, seconds: Int) async throws {
        let deadline = ContinuousClock.now + .seconds(seconds)
        var statuses: [String] = []
        repeat {
            statuses = []
            for id in verifications { statuses.append(try await delivery(service, id, key: key).status) }
            if statuses.allSatisfy({ $0 == "sent" }) { return }
            try await Task.sleep(for: .milliseconds(100))
        } while ContinuousClock.now < deadline
        Issue.record("delivery states after \(seconds) s: \(statuses)")
    }

    /// The code in an SMS text.
    static func code(in text: String) throws -> String {
        String(try #require(text.firstMatch(of: /\b(\d{4,10})\b/), "no code in the SMS").1)
    }

    @Test("F3 over Twilio: kill -9 while the gateway holds its 201 to accepted messages; after a restart and the lease each is requested once more, with the same code, ends sent, and the code approves; a message sent before the kill is not sent again")
    func killAfterAccept() async throws {
        let hold = FileManager.default.temporaryDirectory.appendingPathComponent("cv-sms-hold-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: hold) }
        let stub = try await ProviderStub.start(arguments: ["--hold-file", hold])
        defer { stub.stop() }
        let first = ServiceProcess()
        defer { try? FileManager.default.removeItem(atPath: first.dataDirectory) }
        _ = try await first.command(["accounts", "put", "acme"])
        let admin = try await first.command(["keys", "create", "--admin"])
        try await first.start(arguments: Self.serveArguments(stub))
        defer { first.stop() }

        // Answered at once: sent and recorded as sent before the kill.
        let control = try await first.startSMSVerification(phone: Self.controlPhone, key: admin)
        try await Self.waitUntilSent(first, [control], key: admin, seconds: 10)

        #expect(FileManager.default.createFile(atPath: hold, contents: nil))
        let started = ContinuousClock.now
        var verifications: [String: String] = [:]
        for phone in Self.heldPhones {
            verifications[phone] = try await first.startSMSVerification(phone: phone, key: admin)
        }
        // Every held message is in the gateway's log (accepted) and its sender waits for the
        // 201, well inside the 10 s gateway timeout: the service still has them `sending`.
        _ = try await stub.waitForRequests("\(Self.heldPhones.count) held requests", seconds: 8) {
            $0.filter(\.held).count == Self.heldPhones.count
        }
        for id in verifications.values {
            #expect(try await Self.delivery(first, id, key: admin).status == "sending", "before the kill")
        }
        await first.kill()
        try FileManager.default.removeItem(atPath: hold)

        let second = ServiceProcess(dataDirectory: first.dataDirectory)
        try await second.start(arguments: Self.serveArguments(stub))
        defer { second.stop() }
        let resent = try await stub.waitForRequests("the first re-sent message", seconds: Double(Self.lease + 20)) {
            $0.count > 1 + Self.heldPhones.count
        }
        // Not sent again before the killed instance's lease ran out (its claims came after `started`).
        let firstResend = ContinuousClock.now
        #expect(firstResend - started >= .milliseconds(Self.lease * 1000 - 500), "re-sent \(firstResend - started) after the start")
        #expect(resent.last?.held == false)
        try await Self.waitUntilSent(second, Array(verifications.values) + [control], key: admin, seconds: 20)

        let records = try stub.requests()
        #expect(records.allSatisfy { $0.problems.isEmpty }, "\(records.map(\.problems))")
        #expect(records.count == 1 + 2 * Self.heldPhones.count, "one request for the control, two for each held message")
        let byMessage = Dictionary(grouping: records) { $0.field("StatusCallback") ?? "" }
        #expect(byMessage[""] == nil, "a request without StatusCallback")
        #expect(byMessage.count == 1 + Self.heldPhones.count, "StatusCallbacks: \(byMessage.keys.sorted())")
        for (callback, requests) in byMessage {
            let phones = Set(requests.compactMap { $0.field("To") })
            #expect(phones.count == 1, "\(callback) went to \(phones.sorted())")
            let phone = try #require(phones.first)
            if phone == Self.controlPhone {
                #expect(requests.map(\.held) == [false], "the control message was requested \(requests.count) times")
                let delivery = try await Self.delivery(second, control, key: admin)
                #expect(delivery.status == "sent" && delivery.attempts == 1, "the control message: \(delivery)")
                continue
            }
            let verification = try #require(verifications[phone], "a request to \(phone), which the test never used")
            #expect(requests.map(\.held) == [true, false], "\(phone): once held, once answered")
            let codes = Set(try requests.map { try Self.code(in: try #require($0.field("Body"))) })
            #expect(codes.count == 1, "\(phone) got different codes: \(codes.sorted())")
            let delivery = try await Self.delivery(second, verification, key: admin)
            #expect(delivery.status == "sent" && delivery.attempts == 2, "\(phone): \(delivery)")
            let (status, body) = try await second.request(
                "POST", "/v1/accounts/acme/verifications/\(verification)/check", key: admin, body: #"{"code":"\#(try #require(codes.first))"}"#)
            #expect(status == 200, "\(body)")
            #expect(json(body)["status"] as? String == "approved", "\(phone): \(body)")
        }
    }
}

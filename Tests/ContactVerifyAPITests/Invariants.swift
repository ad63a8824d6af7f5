import ContactVerifyCore
import Foundation
import Testing

/// security.md's invariants after a fault scenario, for the verifications the scenario saw
/// accepted (`202`), read back from the store, the API and the receiver:
///
/// * **INV-L (nothing lost):** every accepted verification has an outbox message; once the
///   scenario has `settled` (its clock is past the secrets' lifetime, or every send is done)
///   each message is in a terminal state: sent, delivered, undelivered, failed, expired or
///   canceled. Before that, a message still in flight is queued with its next attempt before
///   its expiry.
/// * **INV-D (duplicates bounded):** the copies the receivers got of a message (by outbox id)
///   number at most 1 plus the ambiguous faults the scenario injected on it; a message recorded
///   as sent without such a fault arrived exactly once, and one not sent arrived only through
///   such a fault.
/// * **INV-E (clear error):** `GET …/verifications/{id}` shows the message's delivery state and
///   attempts, and its last error code whenever the message has one.
///
/// INV-S (no secret in the store, logs or metrics) is `VerificationSafetyTests`' subject.
enum Invariants {
    /// A message's end states.
    static let terminal: Set<MessageStatus> = [.sent, .delivered, .undelivered, .failed, .expired, .canceled]

    /// Checks INV-L, INV-D and INV-E for `accepted` verification ids of `account`.
    ///
    /// - Parameters:
    ///   - copies: what the receivers accepted, per outbox message id (every server the
    ///     scenario used, counted together; see ``copies(of:)`` for SMTP).
    ///   - ambiguous: the ambiguous faults injected per outbox message id (a reply lost after
    ///     the data went out, a timeout or reset after the request was sent).
    ///   - settled: whether every message must have reached its end.
    static func check(
        _ app: TestApp, _ client: Client, account: String = "acme", accepted: [String], copies: [String: Int],
        ambiguous: [String: Int] = [:], settled: Bool, sourceLocation: SourceLocation = #_sourceLocation
    ) async throws {
        #expect(!accepted.isEmpty, "a scenario without accepted verifications checks nothing", sourceLocation: sourceLocation)
        for id in accepted {
            let verification = try #require(
                try await app.built.store.verification(accountID: account, id: id), "INV-L: \(id) is gone", sourceLocation: sourceLocation)
            let message = try #require(
                try await app.built.store.latestMessage(verificationID: id), "INV-L: \(id) has no outbox message",
                sourceLocation: sourceLocation)
            #expect(message.accountID == verification.accountID, sourceLocation: sourceLocation)
            // INV-L
            if settled {
                #expect(Self.terminal.contains(message.status), "INV-L: \(id) ended \(message.status)", sourceLocation: sourceLocation)
            } else if !Self.terminal.contains(message.status) {
                #expect(message.status == .queued, "INV-L: \(id) is \(message.status)", sourceLocation: sourceLocation)
                #expect(message.nextAttemptAt < message.expiresAt, "INV-L: \(id)'s next attempt is after its expiry", sourceLocation: sourceLocation)
            }
            // INV-D
            let received = copies[message.id] ?? 0
            let allowed = ambiguous[message.id] ?? 0
            #expect(received <= 1 + allowed, "INV-D: \(received) copies of \(message.id), \(allowed) ambiguous faults", sourceLocation: sourceLocation)
            switch message.status {
            case .sent, .delivered, .undelivered:
                #expect(received >= 1, "INV-D: \(id) is \(message.status) but nothing arrived", sourceLocation: sourceLocation)
                if allowed == 0 { #expect(received == 1, "INV-D: \(received) copies of \(message.id)", sourceLocation: sourceLocation) }
            case .failed, .expired, .canceled, .queued, .sending:
                // Only an ambiguous attempt can have reached the receiver.
                #expect(received <= allowed, "INV-D: \(id) is \(message.status) yet \(received) copies arrived", sourceLocation: sourceLocation)
            }
            // INV-E
            let reply = try await client.call(.get, "/v1/accounts/\(account)/verifications/\(id)")
            #expect(reply.status == .ok, "INV-E: GET \(id) answered \(reply.status)", sourceLocation: sourceLocation)
            guard case .object(let delivery)? = reply["delivery"] else {
                Issue.record("INV-E: \(id) shows no delivery state", sourceLocation: sourceLocation)
                continue
            }
            #expect(delivery["status"] == .string(message.status.rawValue), "INV-E: \(id)'s delivery state", sourceLocation: sourceLocation)
            #expect(delivery["attempts"] == .number(String(message.attempts)), "INV-E: \(id)'s attempts", sourceLocation: sourceLocation)
            if let code = message.lastErrorCode {
                guard case .object(let error)? = delivery["lastError"] else {
                    Issue.record("INV-E: \(id) hides its last error \(code)", sourceLocation: sourceLocation)
                    continue
                }
                #expect(error["code"] == .string(code), "INV-E: \(id)'s last error", sourceLocation: sourceLocation)
            }
        }
    }

    /// Copies per outbox message id among mails an SMTP server received (the left part of the
    /// `Message-ID` is the outbox id).
    static func copies(of mails: [ReceivedMail]) -> [String: Int] {
        mails.reduce(into: [:]) { counts, mail in
            for id in mail.header("Message-ID") {
                let left = id.trimmingCharacters(in: CharacterSet(charactersIn: "<>")).split(separator: "@").first.map(String.init) ?? id
                counts[left, default: 0] += 1
            }
        }
    }
}

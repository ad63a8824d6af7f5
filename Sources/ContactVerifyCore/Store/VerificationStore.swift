import Foundation

/// Send history that the start rules read inside the same transaction.
public struct SendCounters: Sendable, Equatable {
    /// Messages queued to this address (channel and key) in the last 24 hours.
    public var addressSendsLast24h: Int
    /// SMS queued by the account since midnight UTC.
    public var accountSMSToday: Int

    public init(addressSendsLast24h: Int, accountSMSToday: Int) {
        self.addressSendsLast24h = addressSendsLast24h
        self.accountSMSToday = accountSMSToday
    }
}

/// What starting (or resending) a verification writes: the verification, inserted or
/// updated, and one new outbox message, in the same transaction as the contact's new status.
public struct VerificationWrite: Sendable {
    public enum Kind: Sendable { case create, resend }
    public var kind: Kind
    public var verification: Verification
    public var message: OutboxMessage
    /// The batch this start belongs to; the store marks that batch's item in the same transaction.
    public var batchID: String?
    /// The `Idempotency-Key` claim this start answers; the store records the verification's id
    /// on it in the same transaction.
    public var idempotency: IdempotencyMark?

    public init(
        kind: Kind, verification: Verification, message: OutboxMessage, batchID: String? = nil, idempotency: IdempotencyMark? = nil
    ) {
        self.kind = kind
        self.verification = verification
        self.message = message
        self.batchID = batchID
        self.idempotency = idempotency
    }
}

/// A message the worker claimed, with what it needs to render it.
public struct ClaimedMessage: Sendable {
    public var message: OutboxMessage
    public var verification: Verification
    public var accountName: String
    public var contactName: String?

    public init(message: OutboxMessage, verification: Verification, accountName: String, contactName: String?) {
        self.message = message
        self.verification = verification
        self.accountName = accountName
        self.contactName = contactName
    }
}

/// Verifications and the outbox. Each method is one transaction; the closures are the pure
/// rules of ``VerificationRules`` and run inside it, so every check-then-write is atomic.
public protocol VerificationStore: Sendable {
    /// Loads the contact, its newest pending verification on `channel` and the send counters,
    /// runs `decide`, and writes what it returns: the verification, the message, one send-log
    /// entry and the contact. A created verification supersedes (cancels) other pending ones
    /// of the same contact and channel.
    func startVerification(
        accountID: String, contactID: String, channel: VerificationChannel, now: Date,
        _ decide: @escaping @Sendable (inout Contact, Verification?, SendCounters) throws -> VerificationWrite
    ) async throws -> VerificationWrite

    /// One verification of one account.
    func verification(accountID: String, id: String) async throws -> Verification?
    /// The verification whose link token hashes to `tokenKey`.
    func verification(tokenKey: [UInt8]) async throws -> Verification?
    /// The newest message of a verification.
    func latestMessage(verificationID: String) async throws -> OutboxMessage?

    /// Loads a verification and its contact (if it still exists), runs `change`, saves both.
    func updateVerification<R: Sendable>(
        id: String, now: Date, _ change: @escaping @Sendable (inout Verification, inout Contact?) throws -> R
    ) async throws -> R
    /// `updateVerification(id:now:_:)` for the verification whose link token hashes to
    /// `tokenKey`, found in the same transaction; returns `change`'s result and the verification
    /// as saved, or `nil` (nothing run) when no verification has that token.
    func updateVerification<R: Sendable>(
        tokenKey: [UInt8], now: Date, _ change: @escaping @Sendable (inout Verification, inout Contact?) throws -> R
    ) async throws -> (R, Verification)?

    /// Marks pending verifications past their expiry `expired`, settles their addresses, and
    /// expires unsent messages whose secret expired. Returns how many verifications expired.
    func expireDue(now: Date) async throws -> Int

    /// Atomically claims up to `limit` due messages (queued and due, or `sending` whose lease
    /// ran out after a crash), marking them `sending` with a lease until `leaseUntil`.
    func claimDueMessages(now: Date, leaseUntil: Date, limit: Int) async throws -> [ClaimedMessage]
    /// Saves the outcome of a delivery attempt, with the verification and contact it changes.
    func recordDelivery(
        messageID: String, now: Date,
        _ change: @escaping @Sendable (inout OutboxMessage, inout Verification, inout Contact?) -> Void
    ) async throws
    /// When the next queued message is due, if any.
    func nextMessageDue() async throws -> Date?
    /// Messages not yet in a terminal state.
    func outboxDepth() async throws -> Int
}

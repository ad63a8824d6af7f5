import Foundation

/// Outbound events. Stores enqueue them themselves, in the transaction of the change they
/// report: a verification leaving `pending` as approved, failed (or out of attempts) or
/// expired, and a batch completing — for accounts with a `callbackUrl`.
public protocol EventStore: Sendable {
    /// Claims up to `limit` due events (leased until `leaseUntil`) with their account's callback.
    func claimDueEvents(now: Date, leaseUntil: Date, limit: Int) async throws -> [ClaimedEvent]
    /// Records one delivery attempt's outcome.
    func recordEventAttempt(id: String, status: Event.Status, nextAttemptAt: Date, lastError: String?, now: Date) async throws
    /// An account's events, newest first (for tests and operators).
    func events(accountID: String, limit: Int) async throws -> [Event]
    /// Calls `wake` after each commit of this store instance that queued an event, so that the
    /// event worker delivers it at once instead of at its next poll. Replaces an earlier `wake`.
    /// (Events another instance queues on a shared database are still found by the poll.)
    func onEventsQueued(_ wake: @escaping @Sendable () -> Void)
}

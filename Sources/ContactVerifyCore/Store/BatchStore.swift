import Foundation

/// A batch item the runner has yet to work on.
public struct PendingBatchItem: Sendable {
    public var batch: Batch
    public var contactID: String

    public init(batch: Batch, contactID: String) {
        self.batch = batch
        self.contactID = contactID
    }
}

/// Batches and their items.
///
/// A verification started for a batch item marks that item in the same transaction (see
/// ``VerificationStore/startVerification(accountID:contactID:channel:now:_:)`` with a
/// `batchID`), so a crash never leaves a contact with two verifications from one batch.
public protocol BatchStore: Sendable {
    /// Stores a batch and one pending item per contact id (already deduplicated). With
    /// `idempotency`, records the batch's id on that claim in the same transaction.
    func createBatch(_ batch: Batch, contactIDs: [String], idempotency: IdempotencyMark?) async throws
    func batch(accountID: String, id: String) async throws -> Batch?
    /// The counts of a batch, derived from its items, verifications and messages.
    func batchCounts(batchID: String) async throws -> BatchCounts
    /// A page of items in the order they were given.
    func batchItems(batchID: String, limit: Int, cursor: String?) async throws -> Page<BatchItem>
    /// Up to `limit` pending items of running batches, oldest batch first.
    func pendingBatchItems(limit: Int) async throws -> [PendingBatchItem]
    /// Records the final outcome of an item whose verification could not start.
    func finishBatchItem(batchID: String, contactID: String, outcome: BatchOutcome, errorCode: String?, errorMessage: String?) async throws
    /// Marks running batches without pending items completed; returns them.
    func completeBatches(now: Date) async throws -> [Batch]
}

extension ServiceError {
    /// Starting a batch item's verification found the item no longer pending: another runner
    /// (another instance on the same database) started it first. The start is rolled back.
    public static let batchItemTaken = ServiceError(
        .conflict, code: "batch_item_taken", detail: "Another runner already worked on this batch item.")
}

extension BatchStore {
    /// Stores a batch outside any `Idempotency-Key`.
    public func createBatch(_ batch: Batch, contactIDs: [String]) async throws {
        try await createBatch(batch, contactIDs: contactIDs, idempotency: nil)
    }
}

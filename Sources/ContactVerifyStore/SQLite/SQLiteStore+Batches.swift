import ContactVerifyCore
import Foundation
import GRDB

extension SQLiteStore: BatchStore {
    public func createBatch(_ batch: Batch, contactIDs: [String], idempotency: IdempotencyMark?) async throws {
        try await writer.write { db in
            try db.execute(
                cached: """
                    INSERT INTO batches (id, account_id, channel, method, status, total, created_at)
                    VALUES (?, ?, ?, ?, 'running', ?, ?)
                    """,
                arguments: [batch.id, batch.accountID, batch.channel.rawValue, batch.method.rawValue, batch.total, batch.createdAt.millisecondsSince1970])
            let insert = try db.makeStatement(
                sql: "INSERT INTO batch_items (batch_id, position, contact_id, status) VALUES (?, ?, ?, 'pending')")
            for (position, contactID) in contactIDs.enumerated() {
                try insert.execute(arguments: [batch.id, position, contactID])
            }
            try Self.markIdempotencyKey(db, idempotency, resourceID: batch.id)
        }
    }

    public func batch(accountID: String, id: String) async throws -> Batch? {
        try lookup { db in
            try SQLiteRow.fetchOne(db, cached: "SELECT * FROM batches WHERE account_id = ? AND id = ?", arguments: [accountID, id]).map(StoreRows.batch)
        }
    }

    public func batchCounts(batchID: String) async throws -> BatchCounts {
        try await pool.read { db in try Self.batchCounts(db, batchID: batchID) }
    }

    static func batchCounts(_ db: Database, batchID: String) throws -> BatchCounts {
        let rows = try SQLiteRow.fetchAll(
            db,
            cached: """
                SELECT \(StoreSQL.batchOutcome) AS outcome, COUNT(*) AS n
                FROM batch_items i LEFT JOIN verifications v ON v.id = i.verification_id
                WHERE i.batch_id = ? GROUP BY 1
                """,
            arguments: [batchID])
        return StoreSQL.counts(rows.map { (outcome: $0.text("outcome"), n: $0.int("n") ?? 0) })
    }

    public func batchItems(batchID: String, limit: Int, cursor: String?) async throws -> Page<BatchItem> {
        let after = try StoreCursor.decode(cursor, StoreCursor.batchItems, initial: -1)
        let rows = try await pool.read { db in
            try SQLiteRow.fetchAll(
                db,
                cached: """
                    SELECT i.position, i.contact_id, i.verification_id, i.error_code, i.error_message, \(StoreSQL.batchOutcome) AS outcome
                    FROM batch_items i LEFT JOIN verifications v ON v.id = i.verification_id
                    WHERE i.batch_id = ? AND i.position > ? ORDER BY i.position LIMIT ?
                    """,
                arguments: [batchID, after, limit + 1]
            ).map { (position: $0.integer("position") ?? 0, item: StoreRows.batchItem($0)) }
        }
        return StoreCursor.page(rows, limit: limit, StoreCursor.batchItems)
    }

    public func pendingBatchItems(limit: Int) async throws -> [PendingBatchItem] {
        try await pool.read { db in
            try SQLiteRow.fetchAll(
                db,
                cached: """
                    SELECT b.*, i.contact_id AS item_contact_id
                    FROM batches b JOIN batch_items i ON i.batch_id = b.id AND i.status = 'pending'
                    WHERE b.status = 'running'
                    ORDER BY b.seq, i.position LIMIT ?
                    """,
                arguments: [limit]
            ).map { PendingBatchItem(batch: StoreRows.batch($0), contactID: $0.text("item_contact_id") ?? "") }
        }
    }

    public func finishBatchItem(batchID: String, contactID: String, outcome: BatchOutcome, errorCode: String?, errorMessage: String?) async throws {
        try await writer.write { db in
            try db.execute(
                cached: """
                    UPDATE batch_items SET status = 'done', outcome = ?, error_code = ?, error_message = ?
                    WHERE batch_id = ? AND contact_id = ? AND status = 'pending'
                    """,
                arguments: [outcome.rawValue, errorCode, errorMessage, batchID, contactID])
        }
    }

    public func completeBatches(now: Date) async throws -> [Batch] {
        try await writer.write { db in
            let done = try SQLiteRow.fetchAll(
                db,
                cached: """
                    SELECT * FROM batches b WHERE b.status = 'running'
                    AND NOT EXISTS (SELECT 1 FROM batch_items i WHERE i.batch_id = b.id AND i.status = 'pending')
                    """
            ).map(StoreRows.batch)
            for batch in done {
                try db.execute(
                    cached: "UPDATE batches SET status = 'completed', completed_at = ? WHERE id = ?",
                    arguments: [now.millisecondsSince1970, batch.id])
                try Self.enqueueEvent(
                    db, accountID: batch.accountID, type: "batch.completed", now: now,
                    data: StoreEvents.data(of: batch, counts: try Self.batchCounts(db, batchID: batch.id)))
            }
            return done.map { var b = $0; b.status = .completed; b.completedAt = now; return b }
        }
    }
}

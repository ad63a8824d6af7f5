import ContactVerifyCore
import Foundation
import GRDB

extension SQLiteStore: BatchStore {
    public func createBatch(_ batch: Batch, contactIDs: [String]) async throws {
        try await writer.write { db in
            try db.execute(
                sql: """
                    INSERT INTO batches (id, account_id, channel, method, status, total, created_at)
                    VALUES (?, ?, ?, ?, 'running', ?, ?)
                    """,
                arguments: [batch.id, batch.accountID, batch.channel.rawValue, batch.method.rawValue, batch.total, batch.createdAt.millisecondsSince1970])
            let insert = try db.makeStatement(
                sql: "INSERT INTO batch_items (batch_id, position, contact_id, status) VALUES (?, ?, ?, 'pending')")
            for (position, contactID) in contactIDs.enumerated() {
                try insert.execute(arguments: [batch.id, position, contactID])
            }
        }
    }

    public func batch(accountID: String, id: String) async throws -> Batch? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM batches WHERE account_id = ? AND id = ?", arguments: [accountID, id]).map(SQLiteRows.batch)
        }
    }

    /// An item's outcome, derived from its own state, its verification and its latest message.
    private static let outcomeSQL = """
        CASE
            WHEN i.status = 'pending' THEN 'queued'
            WHEN i.outcome <> 'queued' THEN i.outcome
            WHEN v.status = 'approved' THEN 'verified'
            WHEN v.status = 'failed' THEN 'failed'
            WHEN (SELECT m.status FROM messages m WHERE m.verification_id = v.id ORDER BY m.seq DESC LIMIT 1)
                IN ('sent', 'delivered') THEN 'sent'
            WHEN (SELECT m.status FROM messages m WHERE m.verification_id = v.id ORDER BY m.seq DESC LIMIT 1)
                IN ('undelivered', 'failed') THEN 'failed'
            ELSE 'queued'
        END
        """

    public func batchCounts(batchID: String) async throws -> BatchCounts {
        try await pool.read { db in
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT \(Self.outcomeSQL) AS outcome, COUNT(*) AS n
                    FROM batch_items i LEFT JOIN verifications v ON v.id = i.verification_id
                    WHERE i.batch_id = ? GROUP BY 1
                    """,
                arguments: [batchID])
            var counts = BatchCounts()
            for row in rows {
                let outcome = BatchOutcome(rawValue: row["outcome"]) ?? .failed
                counts.values[outcome.count, default: 0] += row["n"] as Int
            }
            return counts
        }
    }

    public func batchItems(batchID: String, limit: Int, cursor: String?) async throws -> Page<BatchItem> {
        var after = -1
        if let cursor {
            guard let bytes = Base64URL.decode(cursor), let text = String(validating: bytes, as: UTF8.self),
                text.hasPrefix("p:"), let position = Int(text.dropFirst(2)), position >= 0
            else { throw ServiceError.invalidCursor }
            after = position
        }
        let start = after
        let rows = try await pool.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT i.position, i.contact_id, i.verification_id, i.error_code, i.error_message, \(Self.outcomeSQL) AS outcome
                    FROM batch_items i LEFT JOIN verifications v ON v.id = i.verification_id
                    WHERE i.batch_id = ? AND i.position > ? ORDER BY i.position LIMIT ?
                    """,
                arguments: [batchID, start, limit + 1]
            ).map { row in
                (
                    position: row["position"] as Int,
                    item: BatchItem(
                        contactID: row["contact_id"], outcome: BatchOutcome(rawValue: row["outcome"]) ?? .failed,
                        verificationID: row["verification_id"], errorCode: row["error_code"], errorMessage: row["error_message"])
                )
            }
        }
        let page = rows.prefix(limit)
        let next = rows.count > limit ? page.last.map { Base64URL.encode(Array("p:\($0.position)".utf8)) } : nil
        return Page(items: page.map(\.item), nextCursor: next)
    }

    public func pendingBatchItems(limit: Int) async throws -> [PendingBatchItem] {
        try await pool.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT b.*, i.contact_id AS item_contact_id
                    FROM batches b JOIN batch_items i ON i.batch_id = b.id AND i.status = 'pending'
                    WHERE b.status = 'running'
                    ORDER BY b.seq, i.position LIMIT ?
                    """,
                arguments: [limit]
            ).map { PendingBatchItem(batch: SQLiteRows.batch($0), contactID: $0["item_contact_id"]) }
        }
    }

    public func finishBatchItem(batchID: String, contactID: String, outcome: BatchOutcome, errorCode: String?, errorMessage: String?) async throws {
        try await writer.write { db in
            try db.execute(
                sql: """
                    UPDATE batch_items SET status = 'done', outcome = ?, error_code = ?, error_message = ?
                    WHERE batch_id = ? AND contact_id = ? AND status = 'pending'
                    """,
                arguments: [outcome.rawValue, errorCode, errorMessage, batchID, contactID])
        }
    }

    public func completeBatches(now: Date) async throws -> [Batch] {
        try await writer.write { db in
            let done = try Row.fetchAll(
                db,
                sql: """
                    SELECT * FROM batches b WHERE b.status = 'running'
                    AND NOT EXISTS (SELECT 1 FROM batch_items i WHERE i.batch_id = b.id AND i.status = 'pending')
                    """
            ).map(SQLiteRows.batch)
            for batch in done {
                try db.execute(
                    sql: "UPDATE batches SET status = 'completed', completed_at = ? WHERE id = ?",
                    arguments: [now.millisecondsSince1970, batch.id])
                try Self.enqueueEvent(
                    db, accountID: batch.accountID, type: "batch.completed", now: now,
                    data: ["batchId": batch.id, "channel": batch.channel.rawValue, "method": batch.method.rawValue, "total": batch.total])
            }
            return done.map { var b = $0; b.status = .completed; b.completedAt = now; return b }
        }
    }
}

import ContactVerifyCore
import Foundation
import PostgresNIO

extension PostgresStore: BatchStore {
    public func createBatch(_ batch: Batch, contactIDs: [String], idempotency: IdempotencyMark?) async throws {
        try await transaction { connection in
            try await connection.run(
                """
                INSERT INTO batches (id, account_id, channel, method, status, total, created_at)
                VALUES (\(batch.id), \(batch.accountID), \(batch.channel.rawValue), \(batch.method.rawValue), 'running',
                    \(Int64(batch.total)), \(batch.createdAt.millisecondsSince1970))
                """, logger)
            // One statement for up to 10,000 items: positions from the array's order.
            try await connection.run(
                """
                INSERT INTO batch_items (batch_id, position, contact_id, status)
                SELECT \(batch.id), t.position - 1, t.contact_id, 'pending'
                FROM unnest(\(contactIDs)::text[]) WITH ORDINALITY AS t(contact_id, position)
                """, logger)
            try await Self.markIdempotencyKey(connection, idempotency, resourceID: batch.id, logger)
        }
    }

    public func batch(accountID: String, id: String) async throws -> Batch? {
        try await rows("SELECT * FROM batches WHERE account_id = \(accountID) AND id = \(id)").first.map(StoreRows.batch)
    }

    public func batchCounts(batchID: String) async throws -> BatchCounts {
        try await client.withConnection { connection in try await Self.batchCounts(connection, batchID: batchID, logger) }
    }

    static func batchCounts(_ connection: PostgresConnection, batchID: String, _ logger: Logger) async throws -> BatchCounts {
        let rows = try await connection.rows(
            """
            SELECT \(unescaped: StoreSQL.batchOutcome) AS outcome, COUNT(*) AS n
            FROM batch_items i LEFT JOIN verifications v ON v.id = i.verification_id
            WHERE i.batch_id = \(batchID) GROUP BY 1
            """, logger)
        return StoreSQL.counts(rows.map { (outcome: $0.text("outcome"), n: $0.int("n") ?? 0) })
    }

    public func batchItems(batchID: String, limit: Int, cursor: String?) async throws -> Page<BatchItem> {
        let after = try StoreCursor.decode(cursor, StoreCursor.batchItems, initial: -1)
        let rows = try await rows(
            """
            SELECT i.position, i.contact_id, i.verification_id, i.error_code, i.error_message, \(unescaped: StoreSQL.batchOutcome) AS outcome
            FROM batch_items i LEFT JOIN verifications v ON v.id = i.verification_id
            WHERE i.batch_id = \(batchID) AND i.position > \(after) ORDER BY i.position LIMIT \(Int64(limit + 1))
            """
        ).map { (position: $0.integer("position") ?? 0, item: StoreRows.batchItem($0)) }
        return StoreCursor.page(rows, limit: limit, StoreCursor.batchItems)
    }

    public func pendingBatchItems(limit: Int) async throws -> [PendingBatchItem] {
        // Items another instance is starting right now are locked: skip them rather than wait.
        // (Starting an item marks it under its row lock, so an item is never started twice.)
        try await rows(
            """
            SELECT b.*, i.contact_id AS item_contact_id
            FROM batches b JOIN batch_items i ON i.batch_id = b.id AND i.status = 'pending'
            WHERE b.status = 'running'
            ORDER BY b.seq, i.position LIMIT \(Int64(limit))
            FOR UPDATE OF i SKIP LOCKED
            """
        ).map { PendingBatchItem(batch: StoreRows.batch($0), contactID: $0.text("item_contact_id") ?? "") }
    }

    public func finishBatchItem(batchID: String, contactID: String, outcome: BatchOutcome, errorCode: String?, errorMessage: String?) async throws {
        _ = try await rows(
            """
            UPDATE batch_items SET status = 'done', outcome = \(outcome.rawValue), error_code = \(errorCode), error_message = \(errorMessage)
            WHERE batch_id = \(batchID) AND contact_id = \(contactID) AND status = 'pending'
            """)
    }

    public func completeBatches(now: Date) async throws -> [Batch] {
        try await transaction { connection in
            // The UPDATE decides: of two instances, one completes a batch and queues its event.
            let done = try await connection.rows(
                """
                UPDATE batches b SET status = 'completed', completed_at = \(now.millisecondsSince1970)
                WHERE b.status = 'running'
                AND NOT EXISTS (SELECT 1 FROM batch_items i WHERE i.batch_id = b.id AND i.status = 'pending')
                RETURNING b.*
                """, logger
            ).map(StoreRows.batch)
            for batch in done {
                let counts = try await Self.batchCounts(connection, batchID: batch.id, logger)
                try await Self.enqueueEvent(
                    connection, accountID: batch.accountID, type: "batch.completed", now: now,
                    data: StoreEvents.data(of: batch, counts: counts), logger)
            }
            return done
        }
    }
}

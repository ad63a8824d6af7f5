import ContactVerifyCore
import Foundation
import PostgresNIO

extension PostgresStore: IdempotencyStore {
    public func claimIdempotencyKey(
        accountID: String, key: String, fingerprint: [UInt8], now: Date, staleAfter: TimeInterval, retention: TimeInterval
    ) async throws -> IdempotencyClaim {
        let ms = now.millisecondsSince1970
        return try await transaction { connection in
            // Insert first: of concurrent first requests exactly one inserts; the others wait on
            // its row and then read it under the lock.
            if try await connection.row(
                """
                INSERT INTO idempotency_keys (account_id, key, fingerprint, created_at)
                VALUES (\(accountID), \(key), \(Data(fingerprint)), \(ms)) ON CONFLICT DO NOTHING RETURNING 1
                """, logger) != nil
            {
                return .proceed
            }
            guard let row = try await connection.row(
                "SELECT * FROM idempotency_keys WHERE account_id = \(accountID) AND key = \(key) FOR UPDATE", logger)
            else { throw PostgresRetry() }
            let createdAt = row.integer("created_at") ?? 0
            let status = row.int("status")
            let expired = createdAt <= now.addingTimeInterval(-retention).millisecondsSince1970
            let stale = status == nil && createdAt <= now.addingTimeInterval(-staleAfter).millisecondsSince1970
            if !expired && !stale {
                guard row.bytes("fingerprint") == fingerprint else { return .mismatch }
                guard let status else { return .inFlight }
                return .replay(status: status, body: row.bytes("body") ?? [])
            }
            try await connection.run(
                """
                UPDATE idempotency_keys SET fingerprint = \(Data(fingerprint)), status = NULL, body = NULL, created_at = \(ms),
                    completed_at = NULL
                WHERE account_id = \(accountID) AND key = \(key)
                """, logger)
            return .proceed
        }
    }

    public func completeIdempotencyKey(accountID: String, key: String, status: Int, body: [UInt8], now: Date) async throws {
        _ = try await rows(
            """
            UPDATE idempotency_keys SET status = \(Int64(status)), body = \(Data(body)), completed_at = \(now.millisecondsSince1970)
            WHERE account_id = \(accountID) AND key = \(key)
            """)
    }

    public func releaseIdempotencyKey(accountID: String, key: String) async throws {
        _ = try await rows("DELETE FROM idempotency_keys WHERE account_id = \(accountID) AND key = \(key) AND status IS NULL")
    }
}

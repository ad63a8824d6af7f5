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
            if let answer = IdempotencyRows.answer(row, fingerprint: fingerprint, now: now, staleAfter: staleAfter, retention: retention) {
                return answer
            }
            try await connection.run(
                """
                UPDATE idempotency_keys SET fingerprint = \(Data(fingerprint)), status = NULL, body = NULL, created_at = \(ms),
                    completed_at = NULL, resource_id = NULL
                WHERE account_id = \(accountID) AND key = \(key)
                """, logger)
            return .proceed
        }
    }

    public func completeIdempotencyKey(accountID: String, key: String, status: Int, body: [UInt8], now: Date) async throws {
        _ = try await rows(
            """
            UPDATE idempotency_keys SET status = \(Int64(status)), body = \(Data(body)), completed_at = \(now.millisecondsSince1970)
            WHERE account_id = \(accountID) AND key = \(key) AND status IS NULL
            """)
    }

    public func releaseIdempotencyKey(_ mark: IdempotencyMark) async throws {
        _ = try await rows(
            """
            DELETE FROM idempotency_keys
            WHERE account_id = \(mark.accountID) AND key = \(mark.key) AND created_at = \(mark.claimedAt.millisecondsSince1970)
                AND status IS NULL AND resource_id IS NULL
            """)
    }

    /// Records `resourceID` on the claim `mark` inside the caller's transaction; throws
    /// ``Idempotency/claimLost`` (rolling the caller's writes back) when that claim no longer
    /// holds the key.
    static func markIdempotencyKey(
        _ connection: PostgresConnection, _ mark: IdempotencyMark?, resourceID: String, _ logger: Logger
    ) async throws {
        guard let mark else { return }
        guard try await connection.row(
            """
            UPDATE idempotency_keys SET resource_id = \(resourceID)
            WHERE account_id = \(mark.accountID) AND key = \(mark.key) AND created_at = \(mark.claimedAt.millisecondsSince1970)
                AND status IS NULL AND resource_id IS NULL
            RETURNING 1
            """, logger) != nil
        else { throw Idempotency.claimLost }
    }
}

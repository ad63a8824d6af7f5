import ContactVerifyCore
import Foundation
import GRDB

extension SQLiteStore: IdempotencyStore {
    public func claimIdempotencyKey(
        accountID: String, key: String, fingerprint: [UInt8], now: Date, staleAfter: TimeInterval, retention: TimeInterval
    ) async throws -> IdempotencyClaim {
        try await writer.write { db in
            if let row = try SQLiteRow.fetchOne(
                db, cached: "SELECT * FROM idempotency_keys WHERE account_id = ? AND key = ?", arguments: [accountID, key])
            {
                if let answer = IdempotencyRows.answer(row, fingerprint: fingerprint, now: now, staleAfter: staleAfter, retention: retention) {
                    return answer
                }
                try db.execute(cached: "DELETE FROM idempotency_keys WHERE account_id = ? AND key = ?", arguments: [accountID, key])
            }
            try db.execute(
                cached: "INSERT INTO idempotency_keys (account_id, key, fingerprint, created_at) VALUES (?, ?, ?, ?)",
                arguments: [accountID, key, Data(fingerprint), now.millisecondsSince1970])
            return .proceed
        }
    }

    public func completeIdempotencyKey(accountID: String, key: String, status: Int, body: [UInt8], now: Date) async throws {
        try await writer.write { db in
            try db.execute(
                cached: """
                    UPDATE idempotency_keys SET status = ?, body = ?, completed_at = ?
                    WHERE account_id = ? AND key = ? AND status IS NULL
                    """,
                arguments: [status, Data(body), now.millisecondsSince1970, accountID, key])
        }
    }

    public func releaseIdempotencyKey(_ mark: IdempotencyMark) async throws {
        try await writer.write { db in
            try db.execute(
                cached: """
                    DELETE FROM idempotency_keys
                    WHERE account_id = ? AND key = ? AND created_at = ? AND status IS NULL AND resource_id IS NULL
                    """,
                arguments: [mark.accountID, mark.key, mark.claimedAt.millisecondsSince1970])
        }
    }

    /// Records `resourceID` on the claim `mark` inside the caller's transaction; throws
    /// ``Idempotency/claimLost`` (rolling the caller's writes back) when that claim no longer
    /// holds the key.
    static func markIdempotencyKey(_ db: Database, _ mark: IdempotencyMark?, resourceID: String) throws {
        guard let mark else { return }
        try db.execute(
            cached: """
                UPDATE idempotency_keys SET resource_id = ?
                WHERE account_id = ? AND key = ? AND created_at = ? AND status IS NULL AND resource_id IS NULL
                """,
            arguments: [resourceID, mark.accountID, mark.key, mark.claimedAt.millisecondsSince1970])
        guard db.changesCount == 1 else { throw Idempotency.claimLost }
    }

    /// Drops records past their retention (called from the worker's expiry pass).
    static func purgeIdempotencyKeys(_ db: Database, olderThan cutoff: Date) throws {
        try db.execute(cached: "DELETE FROM idempotency_keys WHERE created_at <= ?", arguments: [cutoff.millisecondsSince1970])
    }
}

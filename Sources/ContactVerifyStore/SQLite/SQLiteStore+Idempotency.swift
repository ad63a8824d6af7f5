import ContactVerifyCore
import Foundation
import GRDB

extension SQLiteStore: IdempotencyStore {
    public func claimIdempotencyKey(
        accountID: String, key: String, fingerprint: [UInt8], now: Date, staleAfter: TimeInterval, retention: TimeInterval
    ) async throws -> IdempotencyClaim {
        try await writer.write { db in
            let ms = now.millisecondsSince1970
            if let row = try Row.fetchOne(
                db, cached: "SELECT * FROM idempotency_keys WHERE account_id = ? AND key = ?", arguments: [accountID, key])
            {
                let createdAt: Int64 = row["created_at"]
                let status: Int? = row["status"]
                let expired = createdAt <= now.addingTimeInterval(-retention).millisecondsSince1970
                let stale = status == nil && createdAt <= now.addingTimeInterval(-staleAfter).millisecondsSince1970
                if !expired && !stale {
                    guard Array(row["fingerprint"] as Data) == fingerprint else { return .mismatch }
                    guard let status else { return .inFlight }
                    return .replay(status: status, body: Array(row["body"] as Data? ?? Data()))
                }
                try db.execute(cached: "DELETE FROM idempotency_keys WHERE account_id = ? AND key = ?", arguments: [accountID, key])
            }
            try db.execute(
                cached: "INSERT INTO idempotency_keys (account_id, key, fingerprint, created_at) VALUES (?, ?, ?, ?)",
                arguments: [accountID, key, Data(fingerprint), ms])
            return .proceed
        }
    }

    public func completeIdempotencyKey(accountID: String, key: String, status: Int, body: [UInt8], now: Date) async throws {
        try await writer.write { db in
            try db.execute(
                cached: "UPDATE idempotency_keys SET status = ?, body = ?, completed_at = ? WHERE account_id = ? AND key = ?",
                arguments: [status, Data(body), now.millisecondsSince1970, accountID, key])
        }
    }

    public func releaseIdempotencyKey(accountID: String, key: String) async throws {
        try await writer.write { db in
            try db.execute(
                cached: "DELETE FROM idempotency_keys WHERE account_id = ? AND key = ? AND status IS NULL", arguments: [accountID, key])
        }
    }

    /// Drops records past their retention (called from the worker's expiry pass).
    static func purgeIdempotencyKeys(_ db: Database, olderThan cutoff: Date) throws {
        try db.execute(cached: "DELETE FROM idempotency_keys WHERE created_at <= ?", arguments: [cutoff.millisecondsSince1970])
    }
}

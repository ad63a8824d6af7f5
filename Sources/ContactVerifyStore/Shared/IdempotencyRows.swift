import ContactVerifyCore
import Foundation

/// The rule both stores apply to an existing `idempotency_keys` row when the same key is
/// claimed again.
enum IdempotencyRows {
    /// What the record `row` answers a new claim, or `nil` when the claim replaces it: the
    /// record is past `retention`, or it is an in-flight claim older than `staleAfter` whose
    /// request committed nothing (no `resource_id`).
    static func answer(
        _ row: some StoredRow, fingerprint: [UInt8], now: Date, staleAfter: TimeInterval, retention: TimeInterval
    ) -> IdempotencyClaim? {
        let createdAt = row.integer("created_at") ?? 0
        let status = row.int("status")
        let resourceID = row.text("resource_id")
        if createdAt <= now.addingTimeInterval(-retention).millisecondsSince1970 { return nil }
        if status == nil, resourceID == nil, createdAt <= now.addingTimeInterval(-staleAfter).millisecondsSince1970 { return nil }
        guard row.bytes("fingerprint") == fingerprint else { return .mismatch }
        if let status { return .replay(status: status, body: row.bytes("body") ?? []) }
        if let resourceID { return .committed(resourceID: resourceID) }
        return .inFlight
    }
}

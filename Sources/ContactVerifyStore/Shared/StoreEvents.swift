import ContactVerifyCore
import Foundation

/// What both stores write into the `events` table: the same types and payloads, built in the
/// transaction of the change they report. Payloads never hold a code or token.
enum StoreEvents {
    /// The event a verification leaving `pending` for `status` reports, if any.
    static func type(leaving status: VerificationStatus) -> String? {
        switch status {
        case .approved: "verification.approved"
        case .failed, .maxAttemptsReached: "verification.failed"
        case .expired: "verification.expired"
        case .pending, .canceled: nil
        }
    }

    /// The `data` of a verification event.
    static func data(of v: Verification) -> [String: Any] {
        [
            "verificationId": v.id, "contactId": v.contactID, "channel": v.channel.rawValue, "method": v.method.rawValue,
            "status": v.status.rawValue, "batchId": v.batchID ?? NSNull(),
        ]
    }

    /// The `data` of `batch.completed`, with the batch's final counts.
    static func data(of batch: Batch, counts: BatchCounts) -> [String: Any] {
        [
            "batchId": batch.id, "channel": batch.channel.rawValue, "method": batch.method.rawValue, "total": batch.total,
            "counts": counts.values.reduce(into: [String: Int]()) { $0[$1.key.rawValue] = $1.value },
        ]
    }

    /// A new event row: its id and the JSON body `{"id", "type", "timestamp", "data"}`.
    static func make(type: String, now: Date, data: [String: Any]) throws -> (id: String, payload: [UInt8]) {
        let id = Event.makeID()
        let payload: [String: Any] = ["id": id, "type": type, "timestamp": now.formatted(.iso8601), "data": data]
        let body = try JSONSerialization.data(withJSONObject: payload, options: [.sortedKeys, .withoutEscapingSlashes])
        return (id, Array(body))
    }
}

/// SQL both dialects share.
enum StoreSQL {
    /// A batch item's outcome (`i` the item, `v` its verification), derived from its own
    /// state, its verification and its latest message. The latest message is looked up once
    /// (the operand of a simple CASE): a batch's counts evaluate this for every item on every
    /// poll, and a pending item's two lookups were most of that cost.
    static let batchOutcome = """
        CASE
            WHEN i.status = 'pending' THEN 'queued'
            WHEN i.outcome <> 'queued' THEN i.outcome
            WHEN v.status = 'approved' THEN 'verified'
            WHEN v.status = 'failed' THEN 'failed'
            ELSE CASE (SELECT m.status FROM messages m WHERE m.verification_id = v.id ORDER BY m.seq DESC LIMIT 1)
                WHEN 'sent' THEN 'sent'
                WHEN 'delivered' THEN 'sent'
                WHEN 'undelivered' THEN 'failed'
                WHEN 'failed' THEN 'failed'
                ELSE 'queued'
            END
        END
        """

    /// Adds batch-item counts (rows of `outcome`, `n`) into ``BatchCounts``.
    static func counts(_ rows: [(outcome: String?, n: Int)]) -> BatchCounts {
        var counts = BatchCounts()
        for row in rows {
            let outcome = row.outcome.flatMap(BatchOutcome.init(rawValue:)) ?? .failed
            counts.values[outcome.count, default: 0] += row.n
        }
        return counts
    }

    /// `?, ?, …` for `count` SQLite parameters.
    static func placeholders(_ count: Int) -> String { Array(repeating: "?", count: count).joined(separator: ", ") }

    /// The midnight (UTC) starting the day of `now`, in milliseconds: the daily SMS limit's window.
    static func startOfDay(_ now: Date) -> Int64 {
        Int64((now.timeIntervalSince1970 / 86_400).rounded(.down) * 86_400 * 1000)
    }

    /// How far back `send_log` is read: an address's sends in the last 24 hours. Older rows are
    /// never read again, and the expiry sweep deletes them.
    static let sendLogWindow: TimeInterval = 86_400

    /// The cutoffs of the expiry sweep, in milliseconds: it deletes sends at or before
    /// `sentBefore` (an hour older than ``sendLogWindow``; `send_log_by_time` finds them) and SMS
    /// day counts of days before `dayBefore` (only today's is read). The hour and yesterday's
    /// count stay for another instance on the same database whose clock is a little behind: it
    /// still reads them.
    static func sendLogPurge(now: Date) -> (sentBefore: Int64, dayBefore: Int64) {
        (now.addingTimeInterval(-sendLogWindow - 3_600).millisecondsSince1970, startOfDay(now) - 86_400_000)
    }
}

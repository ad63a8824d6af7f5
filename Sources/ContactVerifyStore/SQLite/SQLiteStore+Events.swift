import ContactVerifyCore
import Foundation
import GRDB

extension SQLiteStore: EventStore {
    public func onEventsQueued(_ wake: @escaping @Sendable () -> Void) { eventsQueued.set(wake) }

    public func claimDueEvents(now: Date, leaseUntil: Date, limit: Int) async throws -> [ClaimedEvent] {
        try await writer.write { db in
            let rows = try SQLiteRow.fetchAll(
                db,
                cached: """
                    SELECT e.*, a.callback_url AS callback_url, a.callback_secret AS callback_secret
                    FROM events e JOIN accounts a ON a.id = e.account_id
                    WHERE e.status IN ('queued', 'sending') AND e.next_attempt_at <= ?
                    ORDER BY e.next_attempt_at LIMIT ?
                    """,
                arguments: [now.millisecondsSince1970, limit])
            var claimed: [ClaimedEvent] = []
            for row in rows {
                let event = StoreRows.event(row)
                try db.execute(
                    cached: "UPDATE events SET status = 'sending', attempts = attempts + 1, next_attempt_at = ?, updated_at = ? WHERE id = ?",
                    arguments: [leaseUntil.millisecondsSince1970, now.millisecondsSince1970, event.id])
                guard let url = row.text("callback_url") else {
                    try db.execute(
                        cached: "UPDATE events SET status = 'failed', last_error = 'no callback URL' WHERE id = ?", arguments: [event.id])
                    continue
                }
                var sent = event
                sent.attempts += 1
                claimed.append(ClaimedEvent(event: sent, callbackURL: url, callbackSecret: row.text("callback_secret")))
            }
            return claimed
        }
    }

    public func recordEventAttempt(id: String, status: Event.Status, nextAttemptAt: Date, lastError: String?, now: Date) async throws {
        try await writer.write { db in
            try db.execute(
                cached: "UPDATE events SET status = ?, next_attempt_at = ?, last_error = ?, updated_at = ? WHERE id = ?",
                arguments: [status.rawValue, nextAttemptAt.millisecondsSince1970, lastError, now.millisecondsSince1970, id])
        }
    }

    public func events(accountID: String, limit: Int) async throws -> [Event] {
        try await pool.read { db in
            try SQLiteRow.fetchAll(
                db, cached: "SELECT * FROM events WHERE account_id = ? ORDER BY seq DESC LIMIT ?", arguments: [accountID, limit]
            ).map(StoreRows.event)
        }
    }

    /// Queues an event for the account's callback, if it has one (in the caller's transaction).
    /// See ``StoreEvents``. `data` is built only when there is a callback to send it to.
    static func enqueueEvent(_ db: Database, accountID: String, type: String, now: Date, data: @autoclosure () throws -> [String: Any]) throws {
        guard try String.fetchOne(db, cached: "SELECT callback_url FROM accounts WHERE id = ?", arguments: [accountID]) != nil else { return }
        let (id, body) = try StoreEvents.make(type: type, now: now, data: try data())
        try db.execute(
            cached: """
                INSERT INTO events (\(StoreRows.selectList(StoreRows.newEventColumns)))
                VALUES (\(StoreSQL.placeholders(StoreRows.newEventColumns.count)))
                """,
            arguments: StatementArguments(
                stored: StoreRows.newEventValues(id: id, accountID: accountID, type: type, payload: body, now: now)))
    }
}

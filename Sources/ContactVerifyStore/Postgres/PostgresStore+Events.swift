import ContactVerifyCore
import Foundation
import PostgresNIO

extension PostgresStore: EventStore {
    public func onEventsQueued(_ wake: @escaping @Sendable () -> Void) { eventsQueued.set(wake) }

    public func claimDueEvents(now: Date, leaseUntil: Date, limit: Int) async throws -> [ClaimedEvent] {
        let ms = now.millisecondsSince1970
        let claimed = try await rows(
            """
            WITH due AS (
                SELECT id FROM events WHERE status IN ('queued', 'sending') AND next_attempt_at <= \(ms)
                ORDER BY next_attempt_at LIMIT \(Int64(limit)) FOR UPDATE SKIP LOCKED)
            UPDATE events e SET status = 'sending', attempts = e.attempts + 1, next_attempt_at = \(leaseUntil.millisecondsSince1970),
                updated_at = \(ms)
            FROM due, accounts a WHERE e.id = due.id AND a.id = e.account_id
            RETURNING e.*, a.callback_url AS callback_url, a.callback_secret AS callback_secret
            """)
        var events: [ClaimedEvent] = []
        for row in claimed {
            let event = StoreRows.event(row)
            guard let url = row.text("callback_url") else {
                _ = try await rows("UPDATE events SET status = 'failed', last_error = 'no callback URL' WHERE id = \(event.id)")
                continue
            }
            events.append(ClaimedEvent(event: event, callbackURL: url, callbackSecret: row.text("callback_secret")))
        }
        return events.sorted { $0.event.nextAttemptAt < $1.event.nextAttemptAt }
    }

    public func recordEventAttempt(id: String, status: Event.Status, nextAttemptAt: Date, lastError: String?, now: Date) async throws {
        _ = try await rows(
            """
            UPDATE events SET status = \(status.rawValue), next_attempt_at = \(nextAttemptAt.millisecondsSince1970),
                last_error = \(lastError), updated_at = \(now.millisecondsSince1970)
            WHERE id = \(id)
            """)
    }

    public func events(accountID: String, limit: Int) async throws -> [Event] {
        try await rows("SELECT * FROM events WHERE account_id = \(accountID) ORDER BY seq DESC LIMIT \(Int64(limit))").map(StoreRows.event)
    }

    /// Queues an event for the account's callback, if it has one (in the caller's transaction).
    /// `data` is built only when there is a callback to send it to.
    static func enqueueEvent(
        _ connection: PostgresConnection, accountID: String, type: String, now: Date, data: @autoclosure () throws -> [String: Any], _ logger: Logger
    ) async throws {
        guard try await hasCallback(connection, accountID: accountID, logger) else { return }
        var writes = PostgresWrites()
        try writes.event(accountID: accountID, type: type, now: now, data: data())
        try await writes.run(on: connection, logger)
    }

    /// Whether the account has a callback URL: without one, its events are not queued.
    static func hasCallback(_ connection: PostgresConnection, accountID: String, _ logger: Logger) async throws -> Bool {
        try await connection.row(Prepared<AccountCallbackURL>(accountID), logger)?.text("callback_url") != nil
    }

    /// A new event's id and payload, for an insert in the current ``transaction(_:)``, which
    /// this marks (``QueuedEventMark``) so that the event worker is woken once it commits. Every
    /// event insert of this store is built from one.
    static func queuedEvent(type: String, now: Date, data: [String: Any]) throws -> (id: String, payload: [UInt8]) {
        let event = try StoreEvents.make(type: type, now: now, data: data)
        QueuedEventMark.current?.set()
        return event
    }

    enum AccountCallbackURL: PreparedText {
        static let name = "account_callback_url"
        static let sql = "SELECT callback_url FROM accounts WHERE id = $1"
    }
}

extension PostgresWrites {
    /// Adds a queued event for the account's callback (the caller knows the account has one).
    mutating func event(accountID: String, type: String, now: Date, data: [String: Any]) throws {
        let (id, body) = try PostgresStore.queuedEvent(type: type, now: now, data: data)
        insert(
            into: "events", columns: StoreRows.newEventColumns,
            values: StoreRows.newEventValues(id: id, accountID: accountID, type: type, payload: body, now: now))
    }
}

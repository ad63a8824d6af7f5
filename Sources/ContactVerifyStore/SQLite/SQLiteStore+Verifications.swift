import ContactVerifyCore
import Foundation
import GRDB

extension SQLiteStore: VerificationStore {
    public func startVerification(
        accountID: String, contactID: String, channel: VerificationChannel, now: Date,
        _ decide: @escaping @Sendable (inout Contact, Verification?, SendCounters) throws -> VerificationWrite
    ) async throws -> VerificationWrite {
        try await writer.write { db in
            guard var contact = try Self.fetchContact(db, accountID: accountID, id: contactID, webhooks: false) else {
                throw ServiceError.notFound("contact")
            }
            let contactBefore = contact
            let open = try SQLiteRow.fetchOne(
                db, cached: "SELECT * FROM verifications WHERE contact_id = ? AND channel = ? AND status = 'pending' ORDER BY seq DESC LIMIT 1",
                arguments: [contactID, channel.rawValue]
            ).map(StoreRows.verification)
            let addressKey = contact[channel.addressChannel]?.key ?? ""
            let dayAgo = now.addingTimeInterval(-StoreSQL.sendLogWindow).millisecondsSince1970
            let midnight = StoreSQL.startOfDay(now)
            let counters = SendCounters(
                addressSendsLast24h: try Int.fetchOne(
                    db, cached: "SELECT COUNT(*) FROM send_log WHERE account_id = ? AND channel = ? AND address_key = ? AND sent_at > ?",
                    arguments: [accountID, channel.rawValue, addressKey, dayAgo]) ?? 0,
                accountSMSToday: channel == .sms
                    ? try Int.fetchOne(
                        db, cached: "SELECT count FROM sms_day_counts WHERE account_id = ? AND day = ?", arguments: [accountID, midnight]) ?? 0
                    : 0)
            let write = try decide(&contact, open, counters)
            let v = write.verification
            switch write.kind {
            case .create:
                if open != nil {  // read above, in this transaction: without it there is nothing to cancel
                    try db.execute(
                        cached: "UPDATE verifications SET status = 'canceled' WHERE contact_id = ? AND channel = ? AND status = 'pending'",
                        arguments: [contactID, channel.rawValue])
                }
                let columns = StoreRows.verificationColumns
                try db.execute(
                    cached: "INSERT INTO verifications (\(columns.joined(separator: ", "))) VALUES (\(StoreSQL.placeholders(columns.count)))",
                    arguments: StatementArguments(stored: StoreRows.verificationValues(v)))
            case .resend:
                try Self.saveVerification(db, v, from: open ?? v, now: now)
            }
            try Self.insertMessage(db, write.message)
            try db.execute(
                cached: "INSERT INTO send_log (account_id, channel, address_key, sent_at) VALUES (?, ?, ?, ?)",
                arguments: [accountID, channel.rawValue, v.addressKey, now.millisecondsSince1970])
            if channel == .sms {
                try db.execute(
                    cached: """
                        INSERT INTO sms_day_counts (account_id, day, count) VALUES (?, ?, 1)
                        ON CONFLICT (account_id, day) DO UPDATE SET count = count + 1
                        """,
                    arguments: [accountID, midnight])
            }
            try Self.saveContact(db, contact, from: contactBefore)
            if let batchID = write.batchID {
                try db.execute(
                    cached: """
                        UPDATE batch_items SET status = 'done', outcome = 'queued', verification_id = ?
                        WHERE batch_id = ? AND contact_id = ? AND status = 'pending'
                        """,
                    arguments: [v.id, batchID, contactID])
                guard db.changesCount == 1 else { throw ServiceError.batchItemTaken }
            }
            try Self.markIdempotencyKey(db, write.idempotency, resourceID: v.id)
            return write
        }
    }

    public func verification(accountID: String, id: String) async throws -> Verification? {
        try lookup { db in
            try SQLiteRow.fetchOne(db, cached: "SELECT * FROM verifications WHERE account_id = ? AND id = ?", arguments: [accountID, id])
                .map(StoreRows.verification)
        }
    }

    public func verification(tokenKey: [UInt8]) async throws -> Verification? {
        try lookup { db in
            try SQLiteRow.fetchOne(db, cached: "SELECT * FROM verifications WHERE token_key = ?", arguments: [Data(tokenKey)])
                .map(StoreRows.verification)
        }
    }

    public func latestMessage(verificationID: String) async throws -> OutboxMessage? {
        try lookup { db in
            try SQLiteRow.fetchOne(
                db, cached: "SELECT * FROM messages WHERE verification_id = ? ORDER BY seq DESC LIMIT 1", arguments: [verificationID]
            ).map(StoreRows.message)
        }
    }

    public func updateVerification<R: Sendable>(
        id: String, now: Date, _ change: @escaping @Sendable (inout Verification, inout Contact?) throws -> R
    ) async throws -> R {
        try await writer.write { db in
            guard let verification = try SQLiteRow.fetchOne(db, cached: "SELECT * FROM verifications WHERE id = ?", arguments: [id])
                .map(StoreRows.verification)
            else { throw ServiceError.notFound("verification") }
            return try Self.change(db, verification, now: now, change).result
        }
    }

    /// A link confirmation finds its verification by token inside the write job itself: no
    /// separate read on a reader connection first (whose page cache every commit of the writer
    /// invalidates), no second lookup of the same row by id.
    public func updateVerification<R: Sendable>(
        tokenKey: [UInt8], now: Date, _ change: @escaping @Sendable (inout Verification, inout Contact?) throws -> R
    ) async throws -> (R, Verification)? {
        try await writer.write { db in
            guard let verification = try SQLiteRow.fetchOne(
                db, cached: "SELECT * FROM verifications WHERE token_key = ?", arguments: [Data(tokenKey)]
            ).map(StoreRows.verification)
            else { return nil }
            return try Self.change(db, verification, now: now, change)
        }
    }

    /// Runs `change` on `verification` (read in this transaction) and its contact, saves both,
    /// and cancels the verification's queued messages once it is no longer pending.
    private static func change<R>(
        _ db: Database, _ verification: Verification, now: Date, _ change: (inout Verification, inout Contact?) throws -> R
    ) throws -> (result: R, verification: Verification) {
        var verification = verification
        var contact = try fetchContact(db, accountID: verification.accountID, id: verification.contactID, webhooks: false)
        let (verificationBefore, contactBefore) = (verification, contact)
        let result = try change(&verification, &contact)
        try saveVerification(db, verification, from: verificationBefore, now: now)
        if let contact, let contactBefore { try saveContact(db, contact, from: contactBefore) }
        if verification.status != .pending {
            try db.execute(
                cached: "UPDATE messages SET status = 'canceled', updated_at = ? WHERE verification_id = ? AND status = 'queued'",
                arguments: [now.millisecondsSince1970, verification.id])
        }
        return (result, verification)
    }

    public func expireDue(now: Date) async throws -> Int {
        try await writer.write { db in
            let ms = now.millisecondsSince1970
            let due = try SQLiteRow.fetchAll(
                db, cached: "SELECT * FROM verifications WHERE status = 'pending' AND expires_at <= ?", arguments: [ms]
            ).map(StoreRows.verification)
            for old in due {
                var verification = old
                let contactBefore = try Self.fetchContact(db, accountID: verification.accountID, id: verification.contactID, webhooks: false)
                var contact = contactBefore
                VerificationRules.end(&verification, as: .expired, contact: &contact)
                try Self.saveVerification(db, verification, from: old, now: now)
                if let contact, let contactBefore { try Self.saveContact(db, contact, from: contactBefore) }
            }
            try db.execute(
                cached: "UPDATE messages SET status = 'expired', updated_at = ? WHERE status IN ('queued', 'sending') AND expires_at <= ?",
                arguments: [ms, ms])
            try Self.purgeIdempotencyKeys(db, olderThan: now.addingTimeInterval(-Idempotency.retention))
            let purge = StoreSQL.sendLogPurge(now: now)
            try db.execute(cached: "DELETE FROM send_log WHERE sent_at <= ?", arguments: [purge.sentBefore])
            try db.execute(cached: "DELETE FROM sms_day_counts WHERE day < ?", arguments: [purge.dayBefore])
            return due.count
        }
    }

    public func claimDueMessages(now: Date, leaseUntil: Date, limit: Int) async throws -> [ClaimedMessage] {
        try await writer.write { db in
            let ms = now.millisecondsSince1970
            let rows = try SQLiteRow.fetchAll(
                db,
                cached: """
                    SELECT m.*, a.display_name AS account_name, c.name AS contact_name, v.id AS v_id
                    FROM messages m
                    JOIN verifications v ON v.id = m.verification_id
                    JOIN accounts a ON a.id = m.account_id
                    LEFT JOIN contacts c ON c.id = v.contact_id
                    WHERE m.status IN ('queued', 'sending') AND m.next_attempt_at <= ?
                    ORDER BY m.next_attempt_at LIMIT ?
                    """,
                arguments: [ms, limit])
            var claimed: [ClaimedMessage] = []
            for row in rows {
                var message = StoreRows.message(row)
                message.status = .sending
                message.attempts += 1
                message.nextAttemptAt = leaseUntil
                message.updatedAt = now
                try Self.saveMessage(db, message)
                guard let verification = try SQLiteRow.fetchOne(db, cached: "SELECT * FROM verifications WHERE id = ?", arguments: [message.verificationID])
                    .map(StoreRows.verification)
                else { continue }
                claimed.append(ClaimedMessage(
                    message: message, verification: verification, accountName: row.text("account_name") ?? "", contactName: row.text("contact_name")))
            }
            return claimed
        }
    }

    public func recordDelivery(
        messageID: String, now: Date, _ change: @escaping @Sendable (inout OutboxMessage, inout Verification, inout Contact?) -> Void
    ) async throws {
        try await writer.write { db in
            guard var message = try SQLiteRow.fetchOne(db, cached: "SELECT * FROM messages WHERE id = ?", arguments: [messageID]).map(StoreRows.message),
                var verification = try SQLiteRow.fetchOne(db, cached: "SELECT * FROM verifications WHERE id = ?", arguments: [message.verificationID])
                    .map(StoreRows.verification)
            else { return }
            var contact = try Self.fetchContact(db, accountID: verification.accountID, id: verification.contactID, webhooks: false)
            let (verificationBefore, contactBefore) = (verification, contact)
            change(&message, &verification, &contact)
            message.updatedAt = now
            try Self.saveMessage(db, message)
            try Self.saveVerification(db, verification, from: verificationBefore, now: now)
            if let contact, let contactBefore { try Self.saveContact(db, contact, from: contactBefore) }
        }
    }

    public func nextMessageDue() async throws -> Date? {
        try lookup { db in
            try Int64.fetchOne(db, cached: "SELECT MIN(next_attempt_at) FROM messages WHERE status IN ('queued', 'sending')")
                .map(Date.init(millisecondsSince1970:))
        }
    }

    public func outboxDepth() async throws -> Int {
        try await pool.read { db in
            try Int.fetchOne(db, cached: "SELECT COUNT(*) FROM messages WHERE status IN ('queued', 'sending')") ?? 0
        }
    }

    // MARK: Row writers

    /// Saves what changed of a verification since `old`, read in this transaction; one leaving
    /// `pending` queues its event. Nothing changed, nothing is written.
    static func saveVerification(_ db: Database, _ v: Verification, from old: Verification, now: Date) throws {
        let changes = StoreRows.verificationChanges(from: old, to: v)
        guard !changes.isEmpty else { return }
        if old.status == .pending, let type = StoreEvents.type(leaving: v.status) {
            try Self.enqueueEvent(db, accountID: v.accountID, type: type, now: now, data: StoreEvents.data(of: v))
        }
        try update(db, table: "verifications", changes, whereID: v.id)
    }

    static func insertMessage(_ db: Database, _ m: OutboxMessage) throws {
        let columns = StoreRows.messageColumns
        try db.execute(
            cached: "INSERT INTO messages (\(columns.joined(separator: ", "))) VALUES (\(StoreSQL.placeholders(columns.count)))",
            arguments: StatementArguments(stored: StoreRows.messageValues(m)))
    }

    static func saveMessage(_ db: Database, _ m: OutboxMessage) throws {
        try db.execute(
            cached: """
                UPDATE messages SET status = ?, attempts = ?, next_attempt_at = ?, provider_message_id = ?, last_error_code = ?,
                    last_error_message = ?, updated_at = ?
                WHERE id = ?
                """,
            arguments: [
                m.status.rawValue, m.attempts, m.nextAttemptAt.millisecondsSince1970, m.providerMessageID, m.lastErrorCode,
                m.lastErrorMessage, m.updatedAt.millisecondsSince1970, m.id,
            ])
    }

    /// Saves what changed of a contact since `old`, read in this transaction (its id and account
    /// never change). Nothing changed, nothing is written.
    static func saveContact(_ db: Database, _ contact: Contact, from old: Contact) throws {
        try update(db, table: "contacts", StoreRows.contactChanges(from: old, to: contact), whereID: contact.id)
    }

    /// `UPDATE table SET <changes> WHERE id = ?`, through the statement cache (a few column
    /// sets recur: a confirmation's, a failed check's, a resend's); nothing when `changes` is empty.
    private static func update(_ db: Database, table: String, _ changes: [(column: String, value: StoredValue)], whereID id: String) throws {
        guard !changes.isEmpty else { return }
        try db.execute(
            cached: "UPDATE \(table) SET \(changes.map { "\($0.column) = ?" }.joined(separator: ", ")) WHERE id = ?",
            arguments: StatementArguments(stored: changes.map(\.value) + [.text(id)]))
    }
}

import ContactVerifyCore
import Foundation
import PostgresNIO

extension PostgresStore: VerificationStore {
    public func startVerification(
        accountID: String, contactID: String, channel: VerificationChannel, now: Date,
        _ decide: @escaping @Sendable (inout Contact, Verification?, SendCounters) throws -> VerificationWrite
    ) async throws -> VerificationWrite {
        try await transaction { connection in
            // The account's daily SMS count is read and raised under the account's lock, so two
            // instances cannot both take the last SMS of the day (NO KEY UPDATE: inserts that
            // only reference the account are not blocked).
            if channel == .sms {
                try await connection.run("SELECT 1 FROM accounts WHERE id = \(accountID) FOR NO KEY UPDATE", logger)
            }
            guard var contact = try await Self.lockContact(connection, accountID: accountID, id: contactID, webhooks: false, logger) else {
                throw ServiceError.notFound("contact")
            }
            let contactBefore = contact
            let open = try await connection.row(
                """
                SELECT * FROM verifications WHERE contact_id = \(contactID) AND channel = \(channel.rawValue) AND status = 'pending'
                ORDER BY seq DESC LIMIT 1 FOR UPDATE
                """, logger
            ).map(StoreRows.verification)
            let addressKey = contact[channel.addressChannel]?.key ?? ""
            let dayAgo = now.addingTimeInterval(-StoreSQL.sendLogWindow).millisecondsSince1970
            let addressSends = try await connection.row(
                """
                SELECT COUNT(*) AS n FROM send_log
                WHERE account_id = \(accountID) AND channel = \(channel.rawValue) AND address_key = \(addressKey) AND sent_at > \(dayAgo)
                """, logger)?.int("n") ?? 0
            var smsToday = 0
            if channel == .sms {
                smsToday = try await connection.row(
                    "SELECT count AS n FROM sms_day_counts WHERE account_id = \(accountID) AND day = \(StoreSQL.startOfDay(now))",
                    logger)?.int("n") ?? 0
            }
            let write = try decide(&contact, open, SendCounters(addressSendsLast24h: addressSends, accountSMSToday: smsToday))
            let v = write.verification
            if let batchID = write.batchID {
                // Another instance's runner may have started this item first: then roll back.
                guard try await connection.row(
                    """
                    UPDATE batch_items SET status = 'done', outcome = 'queued', verification_id = \(v.id)
                    WHERE batch_id = \(batchID) AND contact_id = \(contactID) AND status = 'pending' RETURNING 1
                    """, logger) != nil
                else { throw ServiceError.batchItemTaken }
            }
            switch write.kind {
            case .create:
                if open != nil {  // read above under the contact's lock: without it there is nothing to cancel
                    try await connection.run(
                        "UPDATE verifications SET status = 'canceled' WHERE contact_id = \(contactID) AND channel = \(channel.rawValue) AND status = 'pending'",
                        logger)
                }
                try await connection.run(
                    .insert(into: "verifications", columns: StoreRows.verificationColumns, values: StoreRows.verificationValues(v)), logger)
            case .resend:
                try await Self.saveVerification(connection, v, from: open ?? v, now: now, logger)
            }
            try await connection.run(
                .insert(into: "messages", columns: StoreRows.messageColumns, values: StoreRows.messageValues(write.message)), logger)
            try await connection.run(
                """
                INSERT INTO send_log (account_id, channel, address_key, sent_at)
                VALUES (\(accountID), \(channel.rawValue), \(v.addressKey), \(now.millisecondsSince1970))
                """, logger)
            if channel == .sms {
                try await connection.run(
                    """
                    INSERT INTO sms_day_counts (account_id, day, count) VALUES (\(accountID), \(StoreSQL.startOfDay(now)), 1)
                    ON CONFLICT (account_id, day) DO UPDATE SET count = sms_day_counts.count + 1
                    """, logger)
            }
            try await Self.saveContact(connection, contact, from: contactBefore, logger)
            try await Self.markIdempotencyKey(connection, write.idempotency, resourceID: v.id, logger)
            return write
        }
    }

    public func verification(accountID: String, id: String) async throws -> Verification? {
        try await rows("SELECT * FROM verifications WHERE account_id = \(accountID) AND id = \(id)").first.map(StoreRows.verification)
    }

    public func verification(tokenKey: [UInt8]) async throws -> Verification? {
        try await rows("SELECT * FROM verifications WHERE token_key = \(Data(tokenKey))").first.map(StoreRows.verification)
    }

    public func latestMessage(verificationID: String) async throws -> OutboxMessage? {
        try await rows("SELECT * FROM messages WHERE verification_id = \(verificationID) ORDER BY seq DESC LIMIT 1").first
            .map(StoreRows.message)
    }

    public func updateVerification<R: Sendable>(
        id: String, now: Date, _ change: @escaping @Sendable (inout Verification, inout Contact?) throws -> R
    ) async throws -> R {
        guard let (result, _) = try await update(.id(id), now: now, change) else { throw ServiceError.notFound("verification") }
        return result
    }

    /// Finds and locks the verification by its token in the transaction that updates it.
    public func updateVerification<R: Sendable>(
        tokenKey: [UInt8], now: Date, _ change: @escaping @Sendable (inout Verification, inout Contact?) throws -> R
    ) async throws -> (R, Verification)? {
        try await update(.tokenKey(tokenKey), now: now, change)
    }

    public func expireDue(now: Date) async throws -> Int {
        let ms = now.millisecondsSince1970
        // `verification_expiries` (migration v13) holds a row for each verification until the
        // sweep after its expiry. Those whose verification ended (or went) before go at once;
        // the others are the pending verifications to expire.
        _ = try await rows(
            """
            DELETE FROM verification_expiries e WHERE e.expires_at <= \(ms)
                AND NOT EXISTS (SELECT 1 FROM verifications v WHERE v.id = e.verification_id AND v.status = 'pending')
            """)
        let due = try await rows(
            "SELECT verification_id, expires_at FROM verification_expiries WHERE expires_at <= \(ms) ORDER BY expires_at LIMIT 500"
        ).compactMap { row in row.text("verification_id").flatMap { id in row.integer("expires_at").map { (id, $0) } } }
        var expired = 0
        for (id, expiresAt) in due {
            // Each in its own short transaction, rechecked under the locks: another instance
            // (or a check) may have settled it meanwhile. The expiry row goes first, so a
            // second sweep of the same row waits here, then finds the verification settled.
            let ended = try await transaction { connection -> Bool in
                try await connection.run(
                    "DELETE FROM verification_expiries WHERE expires_at = \(expiresAt) AND verification_id = \(id)", logger)
                guard var locked = try await Self.lockVerification(connection, id: id, logger),
                    locked.verification.status == .pending, locked.verification.expiresAt <= now
                else { return false }
                let before = locked
                VerificationRules.end(&locked.verification, as: .expired, contact: &locked.contact)
                var writes = PostgresWrites()
                try writes.save(locked, from: before, now: now)
                try await writes.run(on: connection, logger)
                return true
            }
            if ended { expired += 1 }
        }
        _ = try await rows(
            "UPDATE messages SET status = 'expired', updated_at = \(ms) WHERE status IN ('queued', 'sending') AND expires_at <= \(ms)")
        let cutoff = now.addingTimeInterval(-Idempotency.retention).millisecondsSince1970
        _ = try await rows("DELETE FROM idempotency_keys WHERE created_at <= \(cutoff)")
        let purge = StoreSQL.sendLogPurge(now: now)
        _ = try await rows("DELETE FROM send_log WHERE sent_at <= \(purge.sentBefore)")
        _ = try await rows("DELETE FROM sms_day_counts WHERE day < \(purge.dayBefore)")
        return expired
    }

    public func claimDueMessages(now: Date, leaseUntil: Date, limit: Int) async throws -> [ClaimedMessage] {
        let ms = now.millisecondsSince1970
        // One statement: rows another instance holds are skipped, not waited for, and a claimed
        // row is `sending` with a lease before anyone else can see it.
        let messages = try await rows(
            """
            WITH due AS (
                SELECT id FROM messages WHERE status IN ('queued', 'sending') AND next_attempt_at <= \(ms)
                ORDER BY next_attempt_at LIMIT \(Int64(limit)) FOR UPDATE SKIP LOCKED)
            UPDATE messages m SET status = 'sending', attempts = m.attempts + 1, next_attempt_at = \(leaseUntil.millisecondsSince1970),
                updated_at = \(ms)
            FROM due WHERE m.id = due.id
            RETURNING m.*
            """
        ).map(StoreRows.message)
        guard !messages.isEmpty else { return [] }
        let details = try await rows(
            """
            SELECT v.*, a.display_name AS account_name, c.name AS contact_name
            FROM verifications v JOIN accounts a ON a.id = v.account_id LEFT JOIN contacts c ON c.id = v.contact_id
            WHERE v.id = ANY(\(messages.map(\.verificationID)))
            """)
        var byID: [String: (Verification, String, String?)] = [:]
        for row in details {
            let verification = StoreRows.verification(row)
            byID[verification.id] = (verification, row.text("account_name") ?? "", row.text("contact_name"))
        }
        return messages.sorted { $0.nextAttemptAt < $1.nextAttemptAt }.compactMap { message in
            guard let (verification, accountName, contactName) = byID[message.verificationID] else { return nil }
            return ClaimedMessage(message: message, verification: verification, accountName: accountName, contactName: contactName)
        }
    }

    public func recordDelivery(
        messageID: String, now: Date, _ change: @escaping @Sendable (inout OutboxMessage, inout Verification, inout Contact?) -> Void
    ) async throws {
        try await transaction { connection in
            guard let verificationID = try await connection.row(
                "SELECT verification_id FROM messages WHERE id = \(messageID)", logger)?.text("verification_id"),
                var locked = try await Self.lockVerification(connection, id: verificationID, logger),
                var message = try await connection.row("SELECT * FROM messages WHERE id = \(messageID) FOR UPDATE", logger)
                    .map(StoreRows.message)
            else { return }
            let before = locked
            change(&message, &locked.verification, &locked.contact)
            message.updatedAt = now
            var writes = PostgresWrites()
            writes.update("messages", StoreRows.messageOutcome(message), whereID: message.id)
            try writes.save(locked, from: before, now: now)
            try await writes.run(on: connection, logger)
        }
    }

    public func nextMessageDue() async throws -> Date? {
        try await rows("SELECT MIN(next_attempt_at) AS due FROM messages WHERE status IN ('queued', 'sending')").first?.date("due")
    }

    public func outboxDepth() async throws -> Int {
        try await rows("SELECT COUNT(*) AS n FROM messages WHERE status IN ('queued', 'sending')").first?.int("n") ?? 0
    }

    // MARK: Locks and row writers

    /// A verification and its contact as they are under their locks, and whether its account
    /// has a callback URL (whether leaving `pending` queues an event).
    struct LockedVerification {
        var verification: Verification
        /// `nil` once the contact was deleted (its verifications stay, canceled).
        var contact: Contact?
        let callback: Bool
    }

    /// Locks a verification's contact, then the verification (the store's lock order), and
    /// returns both as they are under the locks: a group of one (``GroupRows``).
    static func lockVerification(_ connection: PostgresConnection, id: String, _ logger: Logger) async throws -> LockedVerification? {
        try await GroupRows.lock([.id(id)], connection, logger).locked(.id(id))
    }

    /// The event a verification write queues: one leaving `pending`, in an account with a
    /// callback URL.
    static func eventType(of v: Verification, from old: Verification, callback: Bool) -> String? {
        guard callback, old.status == .pending else { return nil }
        return StoreEvents.type(leaving: v.status)
    }

    /// Saves what changed of a verification since `old`, read under its lock in this
    /// transaction; one leaving `pending` queues its event. Nothing changed, nothing is written.
    static func saveVerification(
        _ connection: PostgresConnection, _ v: Verification, from old: Verification, now: Date, _ logger: Logger
    ) async throws {
        let leaving = eventType(of: v, from: old, callback: true) != nil
        let callback = leaving ? try await hasCallback(connection, accountID: v.accountID, logger) : false
        var writes = PostgresWrites()
        try writes.saveVerification(v, from: old, now: now, callback: callback)
        try await writes.run(on: connection, logger)
    }
}

extension PostgresWrites {
    /// Adds the writes of a verification and its contact changed since `before`, both read
    /// under their locks in this transaction.
    mutating func save(_ locked: PostgresStore.LockedVerification, from before: PostgresStore.LockedVerification, now: Date) throws {
        try saveVerification(locked.verification, from: before.verification, now: now, callback: locked.callback)
        if let contact = locked.contact, let old = before.contact { saveContact(contact, from: old) }
    }

    /// Adds the update of what changed of a verification since `old`, and its event when it
    /// leaves `pending` and its account has a `callback`. Nothing changed, nothing is added.
    mutating func saveVerification(_ v: Verification, from old: Verification, now: Date, callback: Bool) throws {
        let changes = StoreRows.verificationChanges(from: old, to: v)
        guard !changes.isEmpty else { return }
        if let type = PostgresStore.eventType(of: v, from: old, callback: callback) {
            try event(accountID: v.accountID, type: type, now: now, data: StoreEvents.data(of: v))
        }
        update("verifications", changes, whereID: v.id)
    }
}

import ContactVerifyCore
import Foundation
import GRDB

extension SQLiteStore {
    public func insertContact(_ contact: Contact, idempotency: IdempotencyMark?) async throws {
        try await writer.write { db in
            try Self.mapConflicts(db, contact) {
                let columns = StoreRows.contactColumns
                try db.execute(
                    cached: "INSERT INTO contacts (\(columns.joined(separator: ", "))) VALUES (\(Array(repeating: "?", count: columns.count).joined(separator: ", ")))",
                    arguments: StatementArguments(stored: StoreRows.contactValues(contact)))
            }
            try Self.saveWebhooks(db, of: contact)
            try Self.markIdempotencyKey(db, idempotency, resourceID: contact.id)
        }
    }

    public func contact(accountID: String, id: String) async throws -> Contact? {
        try lookup { db in try Self.fetchContact(db, accountID: accountID, id: id) }
    }

    public func updateContact(
        accountID: String, id: String, now: Date, _ change: @escaping @Sendable (inout Contact) throws -> Void
    ) async throws -> Contact {
        try await writer.write { db in
            guard let old = try Self.fetchContact(db, accountID: accountID, id: id) else { throw ServiceError.notFound("contact") }
            let new = try old.changed(at: now, by: change)
            try Self.mapConflicts(db, new) { try Self.saveContact(db, new, from: old) }
            if new.webhooks != old.webhooks {
                try db.execute(cached: "DELETE FROM contact_webhooks WHERE contact_id = ?", arguments: [old.id])
                try Self.saveWebhooks(db, of: new)
            }
            for channel in AddressChannel.allCases where old[channel]?.key != new[channel]?.key {
                try Self.cancelOpenVerifications(db, contactID: old.id, channel: channel, now: now)
            }
            return new
        }
    }

    public func deleteContact(accountID: String, id: String, now: Date) async throws -> Bool {
        try await writer.write { db in
            try db.execute(cached: "DELETE FROM contacts WHERE account_id = ? AND id = ?", arguments: [accountID, id])
            guard db.changesCount > 0 else { return false }
            for channel in AddressChannel.allCases {
                try Self.cancelOpenVerifications(db, contactID: id, channel: channel, now: now)
            }
            return true
        }
    }

    public func listContacts(accountID: String, filter: ContactFilter, limit: Int, cursor: String?) async throws -> Page<Contact> {
        let after = try StoreCursor.decode(cursor, StoreCursor.contacts, initial: 0)
        var sql = "SELECT * FROM contacts WHERE account_id = ? AND seq > ?"
        var arguments: StatementArguments = [accountID, after]
        if filter.webhooks {
            sql += StoreRows.webhookCondition(statusPlaceholder: filter.status == nil ? nil : "?")
            if let status = filter.status { arguments += [status.rawValue] }
        } else if let channel = filter.channel {
            let prefix = channel == .email ? "email" : "phone"
            if let status = filter.status {
                sql += " AND \(prefix)_status = ?"
                arguments += [status.rawValue]
            } else {
                sql += " AND \(prefix) IS NOT NULL"
            }
        }
        sql += " ORDER BY seq LIMIT ?"
        arguments += [limit + 1]
        let query = sql
        let queryArguments = arguments
        let rows = try await pool.read { db in
            let rows = try SQLiteRow.fetchAll(db, cached: query, arguments: queryArguments)
            let contacts = try Self.withWebhooks(db, rows.map(StoreRows.contact))
            return zip(rows, contacts).map { (position: $0.integer("seq") ?? 0, item: $1) }
        }
        return StoreCursor.page(rows, limit: limit, StoreCursor.contacts)
    }

    public func contactHolding(accountID: String, channel: AddressChannel, key: String) async throws -> Contact? {
        try lookup { db in
            try SQLiteRow.fetchOne(
                db, cached: "SELECT * FROM contacts WHERE account_id = ? AND \(channel == .email ? "email_key" : "phone") = ?",
                arguments: [accountID, key]
            ).map(StoreRows.contact)
        }
    }

    // MARK: Helpers shared by the writes

    /// A contact of the account; with `webhooks: false` its webhooks are left empty (the
    /// verification writes never read or change them, and skip the query).
    static func fetchContact(_ db: Database, accountID: String, id: String, webhooks: Bool = true) throws -> Contact? {
        guard let contact = try SQLiteRow.fetchOne(db, cached: "SELECT * FROM contacts WHERE account_id = ? AND id = ?", arguments: [accountID, id])
            .map(StoreRows.contact)
        else { return nil }
        return webhooks ? try withWebhooks(db, [contact]).first : contact
    }

    /// `contacts` with their webhooks loaded.
    static func withWebhooks(_ db: Database, _ contacts: [Contact]) throws -> [Contact] {
        guard !contacts.isEmpty else { return contacts }
        let sql = "SELECT * FROM contact_webhooks WHERE contact_id IN (\(StoreSQL.placeholders(contacts.count))) ORDER BY contact_id, position"
        let arguments = StatementArguments(contacts.map(\.id))
        // One contact (every start, check and confirmation reads one) goes through the statement
        // cache: preparing this statement was ≈ 6 % of the service's CPU in the P3 batch. A list
        // page's text varies with its size (up to 200), so it is prepared once per page instead.
        let rows =
            contacts.count == 1
            ? try SQLiteRow.fetchAll(db, cached: sql, arguments: arguments) : try SQLiteRow.fetchAll(db, sql: sql, arguments: arguments)
        return StoreRows.attach(rows.map(StoreRows.webhook), to: contacts)
    }

    /// Inserts the contact's webhooks (after its old ones were deleted).
    static func saveWebhooks(_ db: Database, of contact: Contact) throws {
        let columns = StoreRows.webhookColumns
        for (position, webhook) in contact.webhooks.enumerated() {
            try db.execute(
                cached: "INSERT INTO contact_webhooks (\(columns.joined(separator: ", "))) VALUES (\(StoreSQL.placeholders(columns.count)))",
                arguments: StatementArguments(stored: StoreRows.webhookValues(webhook, of: contact, position: position)))
        }
    }

    /// Runs `write`; turns a violation of the unique address indexes into `email_taken` /
    /// `phone_taken` naming the contact that holds the address.
    static func mapConflicts(_ db: Database, _ contact: Contact, _ write: () throws -> Void) throws {
        do {
            try write()
        } catch let error as DatabaseError where error.extendedResultCode == .SQLITE_CONSTRAINT_UNIQUE {
            for channel in AddressChannel.allCases {
                guard let key = contact[channel]?.key else { continue }
                let column = channel == .email ? "email_key" : "phone"
                if let holder = try String.fetchOne(
                    db, cached: "SELECT id FROM contacts WHERE account_id = ? AND \(column) = ? AND id <> ?",
                    arguments: [contact.accountID, key, contact.id])
                {
                    throw ServiceError.addressTaken(channel, holder: holder)
                }
            }
            throw error
        }
    }

    /// Cancels the contact's open verifications on one channel (their secrets stop working).
    static func cancelOpenVerifications(_ db: Database, contactID: String, channel: AddressChannel, now: Date) throws {
        let verificationChannel = channel == .email ? VerificationChannel.email : .sms
        let ms = now.millisecondsSince1970
        try db.execute(
            cached: """
                UPDATE messages SET status = 'canceled', updated_at = ?
                WHERE status = 'queued' AND verification_id IN
                    (SELECT id FROM verifications WHERE contact_id = ? AND channel = ? AND status = 'pending')
                """,
            arguments: [ms, contactID, verificationChannel.rawValue])
        try db.execute(
            cached: "UPDATE verifications SET status = 'canceled' WHERE contact_id = ? AND channel = ? AND status = 'pending'",
            arguments: [contactID, verificationChannel.rawValue])
    }
}

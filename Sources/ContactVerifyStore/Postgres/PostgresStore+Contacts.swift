import ContactVerifyCore
import Foundation
import PostgresNIO

extension PostgresStore {
    public func insertContact(_ contact: Contact, idempotency: IdempotencyMark?) async throws {
        try await mapConflicts({ contact }) {
            try await transaction { connection in
                // Inserts into one account take turns, so their `seq` order is their commit
                // order and a page read never skips a contact committed later with a lower seq.
                try await connection.run("SELECT pg_advisory_xact_lock(hashtext(\(contact.accountID)))", logger)
                try await connection.run(
                    .insert(into: "contacts", columns: StoreRows.contactColumns, values: StoreRows.contactValues(contact)), logger)
                try await Self.saveWebhooks(connection, of: contact, logger)
                try await Self.markIdempotencyKey(connection, idempotency, resourceID: contact.id, logger)
            }
        }
    }

    public func contact(accountID: String, id: String) async throws -> Contact? {
        guard let contact = try await rows("SELECT * FROM contacts WHERE account_id = \(accountID) AND id = \(id)").first.map(StoreRows.contact)
        else { return nil }
        return try await withWebhooks([contact]).first
    }

    public func updateContact(
        accountID: String, id: String, now: Date, _ change: @escaping @Sendable (inout Contact) throws -> Void
    ) async throws -> Contact {
        var attempted: Contact?
        return try await mapConflicts({ attempted }) {
            try await transaction { connection in
                guard let old = try await Self.lockContact(connection, accountID: accountID, id: id, logger) else {
                    throw ServiceError.notFound("contact")
                }
                let new = try old.changed(at: now, by: change)
                attempted = new
                try await Self.saveContact(connection, new, from: old, logger)
                if new.webhooks != old.webhooks {
                    try await connection.run("DELETE FROM contact_webhooks WHERE contact_id = \(old.id)", logger)
                    try await Self.saveWebhooks(connection, of: new, logger)
                }
                for channel in AddressChannel.allCases where old[channel]?.key != new[channel]?.key {
                    try await Self.cancelOpenVerifications(connection, contactID: old.id, channel: channel, now: now, logger)
                }
                return new
            }
        }
    }

    public func deleteContact(accountID: String, id: String, now: Date) async throws -> Bool {
        try await transaction { connection in
            guard try await connection.row("DELETE FROM contacts WHERE account_id = \(accountID) AND id = \(id) RETURNING id", logger) != nil
            else { return false }
            for channel in AddressChannel.allCases {
                try await Self.cancelOpenVerifications(connection, contactID: id, channel: channel, now: now, logger)
            }
            return true
        }
    }

    public func listContacts(accountID: String, filter: ContactFilter, limit: Int, cursor: String?) async throws -> Page<Contact> {
        let after = try StoreCursor.decode(cursor, StoreCursor.contacts, initial: 0)
        var condition = ""
        var binds = PostgresBindings()
        binds.append(accountID)
        binds.append(after)
        binds.append(Int64(limit + 1))
        var sql: String?
        if filter.webhooks {
            condition = StoreRows.webhookCondition(statusPlaceholder: filter.status == nil ? nil : "$4")
            if let status = filter.status { binds.append(status.rawValue) }
        } else if let channel = filter.channel {
            let prefix = channel == .email ? "email" : "phone"
            if let status = filter.status {
                // The status filters' index is `contact_statuses` (migration v12), not the contacts'.
                // The page's positions come first, then their contacts: a join the planner may
                // not turn into a merge over every contact between the first and the last match.
                sql = """
                    SELECT c.* FROM (
                        SELECT contact_seq FROM contact_statuses
                        WHERE account_id = $1 AND channel = '\(prefix)' AND status = $4 AND contact_seq > $2
                        ORDER BY contact_seq LIMIT $3
                    ) s JOIN contacts c ON c.seq = s.contact_seq ORDER BY s.contact_seq
                    """
                binds.append(status.rawValue)
            } else {
                condition = " AND \(prefix) IS NOT NULL"
            }
        }
        let query = PostgresQuery(
            unsafeSQL: sql ?? "SELECT * FROM contacts WHERE account_id = $1 AND seq > $2\(condition) ORDER BY seq LIMIT $3", binds: binds)
        let rows = try await rows(query)
        let contacts = try await withWebhooks(rows.map(StoreRows.contact))
        let positioned = zip(rows, contacts).map { (position: $0.integer("seq") ?? 0, item: $1) }
        return StoreCursor.page(positioned, limit: limit, StoreCursor.contacts)
    }

    public func contactHolding(accountID: String, channel: AddressChannel, key: String) async throws -> Contact? {
        let query: PostgresQuery =
            channel == .email
            ? "SELECT * FROM contacts WHERE account_id = \(accountID) AND email_key = \(key)"
            : "SELECT * FROM contacts WHERE account_id = \(accountID) AND phone = \(key)"
        return try await rows(query).first.map(StoreRows.contact)
    }

    // MARK: Helpers shared by the writes

    /// Loads a contact (with its webhooks unless `webhooks` is false) and locks it until the
    /// transaction ends.
    static func lockContact(
        _ connection: PostgresConnection, accountID: String, id: String, webhooks: Bool = true, _ logger: Logger
    ) async throws -> Contact? {
        guard let contact = try await connection.row("SELECT * FROM contacts WHERE account_id = \(accountID) AND id = \(id) FOR UPDATE", logger)
            .map(StoreRows.contact)
        else { return nil }
        guard webhooks else { return contact }
        let rows = try await connection.rows("SELECT * FROM contact_webhooks WHERE contact_id = \(contact.id) ORDER BY position", logger)
        return StoreRows.attach(rows.map(StoreRows.webhook), to: [contact]).first
    }

    /// `contacts` with their webhooks loaded.
    func withWebhooks(_ contacts: [Contact]) async throws -> [Contact] {
        guard !contacts.isEmpty else { return contacts }
        var binds = PostgresBindings()
        binds.append(contacts.map(\.id))
        let rows = try await rows(
            PostgresQuery(unsafeSQL: "SELECT * FROM contact_webhooks WHERE contact_id = ANY($1) ORDER BY contact_id, position", binds: binds))
        return StoreRows.attach(rows.map(StoreRows.webhook), to: contacts)
    }

    /// Inserts the contact's webhooks (after its old ones were deleted).
    static func saveWebhooks(_ connection: PostgresConnection, of contact: Contact, _ logger: Logger) async throws {
        for (position, webhook) in contact.webhooks.enumerated() {
            try await connection.run(
                .insert(into: "contact_webhooks", columns: StoreRows.webhookColumns, values: StoreRows.webhookValues(webhook, of: contact, position: position)),
                logger)
        }
    }

    /// Saves what changed of a contact since `old`, read under its lock in this transaction
    /// (its id and account never change). Nothing changed, nothing is written.
    static func saveContact(_ connection: PostgresConnection, _ contact: Contact, from old: Contact, _ logger: Logger) async throws {
        var writes = PostgresWrites()
        writes.saveContact(contact, from: old)
        try await writes.run(on: connection, logger)
    }

    /// Runs `write`; turns a violation of the unique address indexes into `email_taken` /
    /// `phone_taken` naming the contact that holds the address (looked up after the failed
    /// transaction rolled back).
    func mapConflicts<R>(_ contact: () -> Contact?, _ write: () async throws -> R) async throws -> R {
        do {
            return try await write()
        } catch where PostgresState.of(error) == PostgresState.uniqueViolation {
            guard let contact = contact() else { throw error }
            for channel in AddressChannel.allCases {
                guard let key = contact[channel]?.key,
                    let holder = try await contactHolding(accountID: contact.accountID, channel: channel, key: key), holder.id != contact.id
                else { continue }
                throw ServiceError.addressTaken(channel, holder: holder.id)
            }
            throw error
        }
    }

    /// Cancels the contact's open verifications on one channel (their secrets stop working).
    static func cancelOpenVerifications(
        _ connection: PostgresConnection, contactID: String, channel: AddressChannel, now: Date, _ logger: Logger
    ) async throws {
        let verificationChannel = (channel == .email ? VerificationChannel.email : .sms).rawValue
        let ms = now.millisecondsSince1970
        try await connection.run(
            """
            UPDATE messages SET status = 'canceled', updated_at = \(ms)
            WHERE status = 'queued' AND verification_id IN
                (SELECT id FROM verifications WHERE contact_id = \(contactID) AND channel = \(verificationChannel) AND status = 'pending')
            """, logger)
        try await connection.run(
            "UPDATE verifications SET status = 'canceled' WHERE contact_id = \(contactID) AND channel = \(verificationChannel) AND status = 'pending'",
            logger)
    }
}

extension PostgresWrites {
    /// Adds the update of what changed of a contact since `old` (its id and account never
    /// change); nothing when nothing changed.
    mutating func saveContact(_ contact: Contact, from old: Contact) {
        update("contacts", StoreRows.contactChanges(from: old, to: contact), whereID: contact.id)
    }
}

import Foundation

/// Durable state of the service. Implementations: SQLite (GRDB) and, later, PostgreSQL.
///
/// Every method is one atomic transaction. Invariants live in the schema (unique addresses
/// per account, one admin flag per key) and are reported as ``ServiceError``s:
/// `email_taken` / `phone_taken` with `conflictingContactId`. A write returns only once it is
/// durable.
public protocol Store: Sendable {
    // MARK: Health

    /// Fails when the store cannot serve reads.
    func ping() async throws

    // MARK: Accounts

    /// Creates the account or replaces its settings, keeping `createdAt` of an existing one.
    /// Returns the stored account and whether it was created.
    func putAccount(_ account: Account) async throws -> (account: Account, created: Bool)
    /// The account, if it exists.
    func account(id: String) async throws -> Account?

    // MARK: API keys

    /// Stores a new key.
    func insertKey(_ key: APIKey) async throws
    /// The unrevoked key whose secret hashes to `secretHash`.
    func activeKey(secretHash: [UInt8]) async throws -> APIKey?
    /// Revokes a key (of `accountID` when given); returns whether one was revoked.
    func revokeKey(id: String, accountID: String?, at date: Date) async throws -> Bool

    // MARK: Contacts

    /// Inserts a new contact; throws `email_taken`/`phone_taken` conflicts. With `idempotency`,
    /// records the contact's id on that claim in the same transaction.
    func insertContact(_ contact: Contact, idempotency: IdempotencyMark?) async throws
    /// One contact of one account.
    func contact(accountID: String, id: String) async throws -> Contact?
    /// Loads a contact, applies `change` and saves it, atomically. Open verifications of an
    /// address whose key changed are canceled. Returns the saved contact, or throws `not_found`.
    func updateContact(
        accountID: String, id: String, now: Date,
        _ change: @escaping @Sendable (inout Contact) throws -> Void
    ) async throws -> Contact
    /// Deletes a contact and cancels its open verifications; returns whether it existed.
    func deleteContact(accountID: String, id: String, now: Date) async throws -> Bool
    /// Contacts in creation order after `cursor`; stable while rows are inserted.
    func listContacts(accountID: String, filter: ContactFilter, limit: Int, cursor: String?) async throws -> Page<Contact>
    /// The contact that holds the normalized address `key` on `channel`, if any.
    func contactHolding(accountID: String, channel: AddressChannel, key: String) async throws -> Contact?
}

extension ServiceError {
    /// The address is held by another contact of the same account.
    public static func addressTaken(_ channel: AddressChannel, holder: String) -> ServiceError {
        ServiceError(
            .conflict, code: channel == .email ? "email_taken" : "phone_taken",
            detail: "Another contact of this account already has this \(channel == .email ? "email address" : "phone number").",
            errors: [FieldError(field: channel.rawValue, code: "taken", message: "The address belongs to another contact.")],
            extra: ["conflictingContactId": .string(holder)])
    }

    /// A list cursor that this service did not issue.
    public static let invalidCursor = ServiceError(
        .badRequest, code: "invalid_cursor", detail: "The cursor is not valid.",
        errors: [FieldError(field: "cursor", code: "invalid_cursor", message: "The cursor is not valid.")])
}

/// The shared send log behind chatbot robots' rate limits: several instances on one
/// PostgreSQL database share it, so together they stay under the provider's limit.
public protocol WebhookSendStore: Sendable {
    /// Reserves one send to the robot `robotKey` when fewer than `limit` sends were reserved
    /// for it in the `window` seconds before `now`, and returns `nil`; otherwise reserves
    /// nothing and returns when the oldest send in the window leaves it.
    func reserveWebhookSend(robotKey: [UInt8], limit: Int, window: TimeInterval, now: Date) async throws -> Date?
}

extension Store {
    /// Inserts a new contact outside any `Idempotency-Key`.
    public func insertContact(_ contact: Contact) async throws {
        try await insertContact(contact, idempotency: nil)
    }
}

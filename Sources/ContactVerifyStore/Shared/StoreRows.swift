import ContactVerifyCore
import Foundation

/// Conversions between rows and core values, shared by both stores (their schemas use the
/// same column names and types). Times are stored as milliseconds since 1970.
enum StoreRows {
    static func account(_ row: some StoredRow) -> Account {
        Account(
            id: row.text("id") ?? "", displayName: row.text("display_name") ?? "", defaultRegion: row.text("default_region"),
            locale: row.text("locale") ?? "en", allowedCountries: row.text("allowed_countries").map { $0.split(separator: ",").map(String.init) },
            dailySmsLimit: row.int("daily_sms_limit") ?? 0, callbackURL: row.text("callback_url"),
            callbackSecret: row.text("callback_secret"), createdAt: row.date("created_at") ?? .distantPast,
            updatedAt: row.date("updated_at") ?? .distantPast)
    }

    /// Column values of an account, in the order of ``accountColumns``.
    static func accountValues(_ a: Account) -> [StoredValue] {
        [
            .init(a.id), .init(a.displayName), .init(a.defaultRegion), .init(a.locale),
            .init(a.allowedCountries?.joined(separator: ",")), .init(a.dailySmsLimit), .init(a.callbackURL),
            .init(a.callbackSecret), .init(a.createdAt), .init(a.updatedAt),
        ]
    }

    static let accountColumns = [
        "id", "display_name", "default_region", "locale", "allowed_countries", "daily_sms_limit", "callback_url",
        "callback_secret", "created_at", "updated_at",
    ]

    /// The mutable columns of a contact (all but its id and account) whose values differ
    /// between `old` and `new`, with the new values. A save writes only these, so SQLite
    /// touches only the indexes over columns that changed: confirming an email rewrites the
    /// email-status index entry, not the address and phone index entries as well. (PostgreSQL
    /// compares values instead: writing a column's old value again costs it nothing.)
    static func contactChanges(from old: Contact, to new: Contact) -> [(column: String, value: StoredValue)] {
        let before = contactValues(old), after = contactValues(new)
        return (2..<contactColumns.count).compactMap { index in
            before[index] == after[index] ? nil : (contactColumns[index], after[index])
        }
    }

    static func apiKey(_ row: some StoredRow) -> APIKey {
        APIKey(
            id: row.text("id") ?? "", accountID: row.text("account_id"), isAdmin: row.bool("is_admin"), name: row.text("name"),
            secretHash: row.bytes("secret_hash") ?? [], createdAt: row.date("created_at") ?? .distantPast,
            revokedAt: row.date("revoked_at"))
    }

    static func contact(_ row: some StoredRow) -> Contact {
        var email: ContactAddress?
        if let value = row.text("email") {
            email = ContactAddress(
                value: value, key: row.text("email_key") ?? value,
                status: row.text("email_status").flatMap(AddressStatus.init(rawValue:)) ?? .notVerified,
                verifiedAt: row.date("email_verified_at"), failedChecks: row.int("email_failed_checks") ?? 0,
                lockedUntil: row.date("email_locked_until"))
        }
        var phone: ContactAddress?
        if let value = row.text("phone") {
            phone = ContactAddress(
                value: value, key: value, status: row.text("phone_status").flatMap(AddressStatus.init(rawValue:)) ?? .notVerified,
                verifiedAt: row.date("phone_verified_at"), phoneType: row.text("phone_type").flatMap(PhoneNumberType.init(rawValue:)),
                failedChecks: row.int("phone_failed_checks") ?? 0, lockedUntil: row.date("phone_locked_until"))
        }
        return Contact(
            id: row.text("id") ?? "", accountID: row.text("account_id") ?? "", name: row.text("name") ?? "",
            locale: row.text("locale"), externalID: row.text("external_id"), email: email, phone: phone,
            createdAt: row.date("created_at") ?? .distantPast, updatedAt: row.date("updated_at") ?? .distantPast)
    }

    /// Column values of a contact, in the order of ``contactColumns``.
    static func contactValues(_ c: Contact) -> [StoredValue] {
        [
            .init(c.id), .init(c.accountID), .init(c.name), .init(c.locale), .init(c.externalID),
            .init(c.email?.value), .init(c.email?.key), .init(c.email?.status.rawValue), .init(c.email?.verifiedAt),
            .init(c.email?.failedChecks ?? 0), .init(c.email?.lockedUntil),
            .init(c.phone?.value), .init(c.phone?.phoneType?.rawValue), .init(c.phone?.status.rawValue),
            .init(c.phone?.verifiedAt), .init(c.phone?.failedChecks ?? 0), .init(c.phone?.lockedUntil),
            .init(c.createdAt), .init(c.updatedAt),
        ]
    }

    /// `columns` as a select list, each qualified by `alias` when given, and named
    /// `prefix` + its name when given (read back on PostgreSQL through
    /// ``PostgresColumns/removingPrefix(_:)``).
    static func selectList(_ columns: [String], of alias: String? = nil, prefix: String? = nil) -> String {
        columns.map { column in
            let qualified = alias.map { "\($0).\(column)" } ?? column
            return prefix.map { "\(qualified) AS \($0)\(column)" } ?? qualified
        }.joined(separator: ", ")
    }

    /// A contact's columns: the order of ``contactValues(_:)``, and what ``contact(_:)`` reads.
    static let contactColumns = [
        "id", "account_id", "name", "locale", "external_id",
        "email", "email_key", "email_status", "email_verified_at", "email_failed_checks", "email_locked_until",
        "phone", "phone_type", "phone_status", "phone_verified_at", "phone_failed_checks", "phone_locked_until",
        "created_at", "updated_at",
    ]

    static func verification(_ row: some StoredRow) -> Verification {
        Verification(
            id: row.text("id") ?? "", accountID: row.text("account_id") ?? "", contactID: row.text("contact_id") ?? "",
            channel: row.text("channel").flatMap(VerificationChannel.init(rawValue:)) ?? .email,
            method: row.text("method").flatMap(VerificationMethod.init(rawValue:)) ?? .code,
            address: row.text("address") ?? "", addressKey: row.text("address_key") ?? "", locale: row.text("locale") ?? "en",
            status: row.text("status").flatMap(VerificationStatus.init(rawValue:)) ?? .canceled, nonce: row.bytes("nonce") ?? [],
            codeHash: row.text("code_hash"), tokenKey: row.bytes("token_key"), attempts: row.int("attempts") ?? 0,
            sendCount: row.int("send_count") ?? 0, lastSentAt: row.date("last_sent_at") ?? .distantPast,
            createdAt: row.date("created_at") ?? .distantPast, expiresAt: row.date("expires_at") ?? .distantPast,
            approvedAt: row.date("approved_at"), batchID: row.text("batch_id"))
    }

    /// Column values of a new verification, in the order of ``verificationColumns``.
    static func verificationValues(_ v: Verification) -> [StoredValue] {
        [
            .init(v.id), .init(v.accountID), .init(v.contactID), .init(v.channel.rawValue), .init(v.method.rawValue),
            .init(v.address), .init(v.addressKey), .init(v.locale), .init(v.status.rawValue), .init(v.nonce), .init(v.codeHash),
            .init(v.tokenKey), .init(v.attempts), .init(v.sendCount), .init(v.lastSentAt), .init(v.createdAt), .init(v.expiresAt),
            .init(v.approvedAt), .init(v.batchID),
        ]
    }

    /// The columns a verification's life changes after its insert whose values differ between
    /// `old` and `new`, with the new values. A `sent` outcome changes none (no write at all); a
    /// failed check changes `attempts` alone, leaving the status indexes untouched.
    static func verificationChanges(from old: Verification, to new: Verification) -> [(column: String, value: StoredValue)] {
        let before = verificationState(old), after = verificationState(new)
        return verificationStateColumns.indices.compactMap { index in
            before[index] == after[index] ? nil : (verificationStateColumns[index], after[index])
        }
    }

    /// The columns a verification's life changes after its insert.
    static let verificationStateColumns = ["status", "attempts", "send_count", "last_sent_at", "approved_at"]

    /// Values of ``verificationStateColumns``, in order.
    static func verificationState(_ v: Verification) -> [StoredValue] {
        [.init(v.status.rawValue), .init(v.attempts), .init(v.sendCount), .init(v.lastSentAt), .init(v.approvedAt)]
    }

    /// A verification's columns: the order of ``verificationValues(_:)``, and what
    /// ``verification(_:)`` reads.
    static let verificationColumns = [
        "id", "account_id", "contact_id", "channel", "method", "address", "address_key", "locale", "status", "nonce",
        "code_hash", "token_key", "attempts", "send_count", "last_sent_at", "created_at", "expires_at", "approved_at", "batch_id",
    ]

    static func message(_ row: some StoredRow) -> OutboxMessage {
        OutboxMessage(
            id: row.text("id") ?? "", accountID: row.text("account_id") ?? "", verificationID: row.text("verification_id") ?? "",
            channel: row.text("channel").flatMap(VerificationChannel.init(rawValue:)) ?? .email,
            status: row.text("status").flatMap(MessageStatus.init(rawValue:)) ?? .failed, attempts: row.int("attempts") ?? 0,
            nextAttemptAt: row.date("next_attempt_at") ?? .distantPast, expiresAt: row.date("expires_at") ?? .distantPast,
            providerMessageID: row.text("provider_message_id"), lastErrorCode: row.text("last_error_code"),
            lastErrorMessage: row.text("last_error_message"), createdAt: row.date("created_at") ?? .distantPast,
            updatedAt: row.date("updated_at") ?? .distantPast)
    }

    /// Column values of a new message, in the order of ``messageColumns``.
    static func messageValues(_ m: OutboxMessage) -> [StoredValue] {
        [
            .init(m.id), .init(m.accountID), .init(m.verificationID), .init(m.channel.rawValue), .init(m.status.rawValue),
            .init(m.attempts), .init(m.nextAttemptAt), .init(m.expiresAt), .init(m.providerMessageID), .init(m.lastErrorCode),
            .init(m.lastErrorMessage), .init(m.createdAt), .init(m.updatedAt),
        ]
    }

    /// The columns a send's outcome or a delivery report changes, with their values.
    static func messageOutcome(_ m: OutboxMessage) -> [(column: String, value: StoredValue)] {
        [
            ("status", .init(m.status.rawValue)), ("attempts", .init(m.attempts)), ("next_attempt_at", .init(m.nextAttemptAt)),
            ("provider_message_id", .init(m.providerMessageID)), ("last_error_code", .init(m.lastErrorCode)),
            ("last_error_message", .init(m.lastErrorMessage)), ("updated_at", .init(m.updatedAt)),
        ]
    }

    /// The columns both stores write when they queue an event: its id, account, type, payload,
    /// status (`queued`), then its next attempt and creation and update times (all `now`).
    static let newEventColumns = ["id", "account_id", "type", "payload", "status", "next_attempt_at", "created_at", "updated_at"]

    /// Values of ``newEventColumns`` for a queued event.
    static func newEventValues(id: String, accountID: String, type: String, payload: [UInt8], now: Date) -> [StoredValue] {
        let ms = StoredValue(now)
        return [.init(id), .init(accountID), .init(type), .bytes(payload), .init("queued"), ms, ms, ms]
    }

    static let messageColumns = [
        "id", "account_id", "verification_id", "channel", "status", "attempts", "next_attempt_at", "expires_at",
        "provider_message_id", "last_error_code", "last_error_message", "created_at", "updated_at",
    ]

    static func batch(_ row: some StoredRow) -> Batch {
        Batch(
            id: row.text("id") ?? "", accountID: row.text("account_id") ?? "",
            channel: row.text("channel").flatMap(VerificationChannel.init(rawValue:)) ?? .email,
            method: row.text("method").flatMap(VerificationMethod.init(rawValue:)) ?? .link,
            status: row.text("status").flatMap(Batch.Status.init(rawValue:)) ?? .running, total: row.int("total") ?? 0,
            createdAt: row.date("created_at") ?? .distantPast, completedAt: row.date("completed_at"))
    }

    static func batchItem(_ row: some StoredRow) -> BatchItem {
        BatchItem(
            contactID: row.text("contact_id") ?? "", outcome: row.text("outcome").flatMap(BatchOutcome.init(rawValue:)) ?? .failed,
            verificationID: row.text("verification_id"), errorCode: row.text("error_code"), errorMessage: row.text("error_message"))
    }

    static func event(_ row: some StoredRow) -> Event {
        Event(
            id: row.text("id") ?? "", accountID: row.text("account_id") ?? "", type: row.text("type") ?? "",
            payload: row.bytes("payload") ?? [], status: row.text("status").flatMap(Event.Status.init(rawValue:)) ?? .failed,
            attempts: row.int("attempts") ?? 0, nextAttemptAt: row.date("next_attempt_at") ?? .distantPast,
            lastError: row.text("last_error"), createdAt: row.date("created_at") ?? .distantPast)
    }
}

import ContactVerifyCore
import Foundation
import GRDB

/// Conversions between rows and core values. Times are stored as milliseconds since 1970.
enum SQLiteRows {
    static func date(_ row: Row, _ column: String) -> Date? {
        (row[column] as Int64?).map(Date.init(millisecondsSince1970:))
    }

    static func account(_ row: Row) -> Account {
        let countries = (row["allowed_countries"] as String?).map { $0.split(separator: ",").map(String.init) }
        return Account(
            id: row["id"], displayName: row["display_name"], defaultRegion: row["default_region"],
            locale: row["locale"], allowedCountries: countries, dailySmsLimit: row["daily_sms_limit"],
            callbackURL: row["callback_url"], callbackSecret: row["callback_secret"],
            createdAt: date(row, "created_at")!, updatedAt: date(row, "updated_at")!)
    }

    static func apiKey(_ row: Row) -> APIKey {
        APIKey(
            id: row["id"], accountID: row["account_id"], isAdmin: row["is_admin"], name: row["name"],
            secretHash: Array(row["secret_hash"] as Data), createdAt: date(row, "created_at")!,
            revokedAt: date(row, "revoked_at"))
    }

    static func contact(_ row: Row) -> Contact {
        var email: ContactAddress?
        if let value = row["email"] as String? {
            email = ContactAddress(
                value: value, key: row["email_key"], status: AddressStatus(rawValue: row["email_status"]) ?? .notVerified,
                verifiedAt: date(row, "email_verified_at"), failedChecks: row["email_failed_checks"],
                lockedUntil: date(row, "email_locked_until"))
        }
        var phone: ContactAddress?
        if let value = row["phone"] as String? {
            phone = ContactAddress(
                value: value, key: value, status: AddressStatus(rawValue: row["phone_status"]) ?? .notVerified,
                verifiedAt: date(row, "phone_verified_at"),
                phoneType: (row["phone_type"] as String?).flatMap(PhoneNumberType.init(rawValue:)),
                failedChecks: row["phone_failed_checks"], lockedUntil: date(row, "phone_locked_until"))
        }
        return Contact(
            id: row["id"], accountID: row["account_id"], name: row["name"], locale: row["locale"],
            externalID: row["external_id"], email: email, phone: phone,
            createdAt: date(row, "created_at")!, updatedAt: date(row, "updated_at")!)
    }

    /// Column values of a contact, in the order of ``contactColumns``.
    static func contactValues(_ c: Contact) -> [(any DatabaseValueConvertible)?] {
        [
            c.id, c.accountID, c.name, c.locale, c.externalID,
            c.email?.value, c.email?.key, c.email?.status.rawValue, c.email?.verifiedAt?.millisecondsSince1970,
            c.email?.failedChecks ?? 0, c.email?.lockedUntil?.millisecondsSince1970,
            c.phone?.value, c.phone?.phoneType?.rawValue, c.phone?.status.rawValue,
            c.phone?.verifiedAt?.millisecondsSince1970, c.phone?.failedChecks ?? 0,
            c.phone?.lockedUntil?.millisecondsSince1970,
            c.createdAt.millisecondsSince1970, c.updatedAt.millisecondsSince1970,
        ]
    }

    static let contactColumns = [
        "id", "account_id", "name", "locale", "external_id",
        "email", "email_key", "email_status", "email_verified_at", "email_failed_checks", "email_locked_until",
        "phone", "phone_type", "phone_status", "phone_verified_at", "phone_failed_checks", "phone_locked_until",
        "created_at", "updated_at",
    ]

    static func verification(_ row: Row) -> Verification {
        Verification(
            id: row["id"], accountID: row["account_id"], contactID: row["contact_id"],
            channel: VerificationChannel(rawValue: row["channel"]) ?? .email, method: VerificationMethod(rawValue: row["method"]) ?? .code,
            address: row["address"], addressKey: row["address_key"], locale: row["locale"],
            status: VerificationStatus(rawValue: row["status"]) ?? .canceled, nonce: Array(row["nonce"] as Data),
            codeHash: row["code_hash"], tokenKey: (row["token_key"] as Data?).map(Array.init), attempts: row["attempts"],
            sendCount: row["send_count"], lastSentAt: date(row, "last_sent_at")!, createdAt: date(row, "created_at")!,
            expiresAt: date(row, "expires_at")!, approvedAt: date(row, "approved_at"), batchID: row["batch_id"])
    }

    static func message(_ row: Row) -> OutboxMessage {
        OutboxMessage(
            id: row["id"], accountID: row["account_id"], verificationID: row["verification_id"],
            channel: VerificationChannel(rawValue: row["channel"]) ?? .email, status: MessageStatus(rawValue: row["status"]) ?? .failed,
            attempts: row["attempts"], nextAttemptAt: date(row, "next_attempt_at")!, expiresAt: date(row, "expires_at")!,
            providerMessageID: row["provider_message_id"], lastErrorCode: row["last_error_code"],
            lastErrorMessage: row["last_error_message"], createdAt: date(row, "created_at")!, updatedAt: date(row, "updated_at")!)
    }

    static func batch(_ row: Row) -> Batch {
        Batch(
            id: row["id"], accountID: row["account_id"], channel: VerificationChannel(rawValue: row["channel"]) ?? .email,
            method: VerificationMethod(rawValue: row["method"]) ?? .link, status: Batch.Status(rawValue: row["status"]) ?? .running,
            total: row["total"], createdAt: Date(millisecondsSince1970: row["created_at"]),
            completedAt: (row["completed_at"] as Int64?).map(Date.init(millisecondsSince1970:)))
    }

    static func event(_ row: Row) -> Event {
        Event(
            id: row["id"], accountID: row["account_id"], type: row["type"], payload: Array(row["payload"] as Data),
            status: Event.Status(rawValue: row["status"]) ?? .failed, attempts: row["attempts"],
            nextAttemptAt: date(row, "next_attempt_at")!, lastError: row["last_error"], createdAt: date(row, "created_at")!)
    }
}

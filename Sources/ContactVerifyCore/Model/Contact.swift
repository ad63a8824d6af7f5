import Foundation

/// Whether an address has been proven.
public enum AddressStatus: String, Sendable, Codable, CaseIterable {
    case notVerified = "not_verified"
    case pending
    case verified
}

/// The kinds of address a contact can hold.
public enum AddressChannel: String, Sendable, Codable, CaseIterable {
    case email
    case phone

    /// Reads `email`, `phone` and the SMS alias `sms`.
    public init?(parameter: String) {
        switch parameter {
        case "email": self = .email
        case "phone", "sms": self = .phone
        default: return nil
        }
    }
}

/// One normalized address of a contact and its verification state.
public struct ContactAddress: Sendable, Equatable {
    /// What mail or SMS is sent to: the normalized email or the E.164 number.
    public var value: String
    /// Uniqueness key inside the account (lower-cased email; E.164 for phones).
    public var key: String
    public var status: AddressStatus
    public var verifiedAt: Date?
    /// libphonenumber's type, for phones.
    public var phoneType: PhoneNumberType?
    /// Failed code checks in a row on this address, across verifications (NIST: a resend does not reset it).
    public var failedChecks: Int
    /// Set when `failedChecks` reached the limit; checks and sends are refused until then.
    public var lockedUntil: Date?

    public init(
        value: String, key: String, status: AddressStatus = .notVerified, verifiedAt: Date? = nil,
        phoneType: PhoneNumberType? = nil, failedChecks: Int = 0, lockedUntil: Date? = nil
    ) {
        self.value = value
        self.key = key
        self.status = status
        self.verifiedAt = verifiedAt
        self.phoneType = phoneType
        self.failedChecks = failedChecks
        self.lockedUntil = lockedUntil
    }

    /// A fresh, unverified address from a normalized email.
    public init(_ email: NormalizedEmail) {
        self.init(value: email.address, key: email.key)
    }

    /// A fresh, unverified address from a normalized phone number.
    public init(_ phone: NormalizedPhone) {
        self.init(value: phone.e164, key: phone.e164, phoneType: phone.type)
    }

    /// Whether the address is locked at `now`.
    public func isLocked(at now: Date) -> Bool {
        guard let lockedUntil else { return false }
        return lockedUntil > now
    }
}

/// A person inside an account, with at most one email and one phone.
public struct Contact: Sendable, Equatable {
    public var id: String
    public var accountID: String
    public var name: String
    public var locale: String?
    public var externalID: String?
    public var email: ContactAddress?
    public var phone: ContactAddress?
    /// Chatbot webhooks, at most ``ContactWebhook/maxPerContact``, in the caller's order.
    public var webhooks: [ContactWebhook]
    public var createdAt: Date
    public var updatedAt: Date

    public init(
        id: String, accountID: String, name: String, locale: String? = nil, externalID: String? = nil,
        email: ContactAddress? = nil, phone: ContactAddress? = nil, webhooks: [ContactWebhook] = [], createdAt: Date, updatedAt: Date
    ) {
        self.id = id
        self.accountID = accountID
        self.name = name
        self.locale = locale
        self.externalID = externalID
        self.email = email
        self.phone = phone
        self.webhooks = webhooks
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    /// The address of one channel.
    public subscript(channel: AddressChannel) -> ContactAddress? {
        get { channel == .email ? email : phone }
        set { if channel == .email { email = newValue } else { phone = newValue } }
    }

    /// A new contact id (`ct_…`).
    public static func makeID() -> String { RandomID.make(prefix: "ct_") }
}

/// Filters for listing contacts.
public struct ContactFilter: Sendable, Equatable {
    /// Contacts with an address on this channel (of `status`, when given).
    public var channel: AddressChannel?
    public var status: AddressStatus?
    /// Contacts with at least one chatbot webhook (of `status`, when given); used instead of
    /// `channel` (`channel=webhook` in the API).
    public var webhooks: Bool

    public init(channel: AddressChannel? = nil, status: AddressStatus? = nil, webhooks: Bool = false) {
        self.channel = channel
        self.status = status
        self.webhooks = webhooks
    }
}

/// One page of a cursor-paginated list.
public struct Page<Item: Sendable>: Sendable {
    public var items: [Item]
    /// Opaque position after the last item; `nil` on the last page.
    public var nextCursor: String?

    public init(items: [Item], nextCursor: String?) {
        self.items = items
        self.nextCursor = nextCursor
    }
}

import Foundation

/// A tenant: every contact, key and verification belongs to exactly one account.
public struct Account: Sendable, Equatable {
    /// Lower-case slug chosen by the operator (`acme`).
    public var id: String
    public var displayName: String
    /// ISO 3166 alpha-2 region used to read national phone numbers; `nil` means only `+` numbers.
    public var defaultRegion: String?
    /// Default template language (`en`, `zh-CN`).
    public var locale: String
    /// When set, SMS goes only to numbers of these regions.
    public var allowedCountries: [String]?
    /// SMS messages this account may send per UTC day.
    public var dailySmsLimit: Int
    /// Where signed events are POSTed, if anywhere.
    public var callbackURL: String?
    /// Secret for signing events (never returned by the API).
    public var callbackSecret: String?
    public var createdAt: Date
    public var updatedAt: Date

    /// Default SMS cap per account and day (design §4).
    public static let defaultDailySmsLimit = 1_000

    public init(
        id: String, displayName: String, defaultRegion: String? = nil, locale: String = "en",
        allowedCountries: [String]? = nil, dailySmsLimit: Int = Account.defaultDailySmsLimit,
        callbackURL: String? = nil, callbackSecret: String? = nil, createdAt: Date, updatedAt: Date
    ) {
        self.id = id
        self.displayName = displayName
        self.defaultRegion = defaultRegion
        self.locale = locale
        self.allowedCountries = allowedCountries
        self.dailySmsLimit = dailySmsLimit
        self.callbackURL = callbackURL
        self.callbackSecret = callbackSecret
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    /// Whether `id` is an acceptable account id: 1–63 of `a-z 0-9 _ -`, starting with a letter or digit.
    public static func isValidID(_ id: String) -> Bool {
        let bytes = Array(id.utf8)
        guard (1...63).contains(bytes.count) else { return false }
        func isAlnum(_ b: UInt8) -> Bool { (0x61...0x7A).contains(b) || (0x30...0x39).contains(b) }
        guard isAlnum(bytes[0]) else { return false }
        return bytes.allSatisfy { isAlnum($0) || $0 == 0x5F || $0 == 0x2D }
    }
}

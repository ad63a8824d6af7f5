import Foundation

/// The chatbot a webhook posts to (protocols.md c7–c10).
public enum WebhookKind: String, Sendable, Codable, CaseIterable {
    /// DingTalk custom robot: HMAC-SHA256 query signature with a millisecond timestamp.
    case dingtalk
    /// Lark / Feishu custom bot: signature in the body with a second timestamp.
    case lark
    /// WeCom group robot: the key in the URL is the credential.
    case wecom
    /// Any HTTPS receiver, signed the Standard Webhooks way.
    case custom

    /// Test messages a robot accepts per window, where the provider documents a limit
    /// (DingTalk and WeCom: 20 a minute per robot; Lark: about 100 a minute).
    public var rateLimit: (count: Int, window: TimeInterval)? {
        switch self {
        case .dingtalk, .wecom: (20, 60)
        case .lark: (100, 60)
        case .custom: nil
        }
    }
}

/// One chatbot webhook of a contact, as stored: its URL and secret are credentials, so they
/// are kept sealed (``WebhookSealer``) and only a masked form is readable.
public struct ContactWebhook: Sendable, Equatable {
    /// `wh_…`
    public var id: String
    public var kind: WebhookKind
    /// The caller's label, unique within the contact.
    public var name: String
    /// `scheme://host/…`, safe to show and log.
    public var maskedURL: String
    /// Keyed hash of the URL: uniqueness within the contact and the robot's rate limit.
    public var urlKey: [UInt8]
    /// The URL, sealed with the server secret.
    public var sealedURL: [UInt8]
    /// The signing secret, sealed, if there is one.
    public var sealedSecret: [UInt8]?
    /// `verified` after a test message the provider accepted; back to `not_verified` when the
    /// kind, URL or secret change, or a test fails.
    public var status: AddressStatus
    public var verifiedAt: Date?
    /// The last test: when, and the provider's code and message.
    public var testedAt: Date?
    public var lastProviderCode: String?
    public var lastMessage: String?
    public var createdAt: Date
    public var updatedAt: Date

    /// A contact holds at most this many webhooks.
    public static let maxPerContact = 5

    public init(
        id: String, kind: WebhookKind, name: String, maskedURL: String, urlKey: [UInt8], sealedURL: [UInt8],
        sealedSecret: [UInt8]?, status: AddressStatus = .notVerified, verifiedAt: Date? = nil, testedAt: Date? = nil,
        lastProviderCode: String? = nil, lastMessage: String? = nil, createdAt: Date, updatedAt: Date
    ) {
        self.id = id
        self.kind = kind
        self.name = name
        self.maskedURL = maskedURL
        self.urlKey = urlKey
        self.sealedURL = sealedURL
        self.sealedSecret = sealedSecret
        self.status = status
        self.verifiedAt = verifiedAt
        self.testedAt = testedAt
        self.lastProviderCode = lastProviderCode
        self.lastMessage = lastMessage
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    /// A new webhook id (`wh_…`).
    public static func makeID() -> String { RandomID.make(prefix: "wh_") }
}

/// One entry of a request's `webhooks` list. Without `id` it adds a webhook (`kind`, `name`
/// and `url` required); with the `id` of an existing one it keeps it, changing only the
/// fields given (so a client can resend the list without knowing URLs and secrets).
public struct WebhookDraft: Sendable {
    public var id: String?
    public var kind: WebhookKind?
    public var name: String?
    public var url: String?
    /// `.null` removes the secret; `.absent` keeps it.
    public var secret: JSONField<String>

    public init(id: String? = nil, kind: WebhookKind? = nil, name: String? = nil, url: String? = nil, secret: JSONField<String> = .absent) {
        self.id = id
        self.kind = kind
        self.name = name
        self.url = url
        self.secret = secret
    }
}

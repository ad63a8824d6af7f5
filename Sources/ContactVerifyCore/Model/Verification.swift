import Foundation

/// How a verification reaches its address.
public enum VerificationChannel: String, Sendable, Codable, CaseIterable {
    case email
    case sms

    /// The contact address this channel proves.
    public var addressChannel: AddressChannel { self == .email ? .email : .phone }
}

/// What the recipient proves possession with.
public enum VerificationMethod: String, Sendable, Codable, CaseIterable {
    /// A short numeric code the recipient types back.
    case code
    /// A link (≥ 256-bit token) the recipient opens and confirms.
    case link
}

/// The life of one verification (design §1).
public enum VerificationStatus: String, Sendable, Codable, CaseIterable {
    case pending
    case approved
    case expired
    case canceled
    case maxAttemptsReached = "max_attempts_reached"
    /// The message could not be delivered (permanent failure).
    case failed
}

/// One attempt to prove one address. The secret itself is never stored: `nonce` lets the
/// server re-derive it with its secret key (so a resend carries the same code), and only an
/// argon2id hash of a code or a SHA-256 lookup key of a link token is kept.
public struct Verification: Sendable, Equatable {
    public var id: String
    public var accountID: String
    public var contactID: String
    public var channel: VerificationChannel
    public var method: VerificationMethod
    /// The address the secret was sent to (normalized), and its uniqueness key.
    public var address: String
    public var addressKey: String
    public var locale: String
    public var status: VerificationStatus
    /// Random per-verification input of the secret derivation.
    public var nonce: [UInt8]
    /// argon2id PHC string of the code (method `code`).
    public var codeHash: String?
    /// SHA-256 of the link token (method `link`).
    public var tokenKey: [UInt8]?
    /// Wrong codes submitted so far.
    public var attempts: Int
    public var sendCount: Int
    public var lastSentAt: Date
    public var createdAt: Date
    public var expiresAt: Date
    public var approvedAt: Date?
    public var batchID: String?

    public init(
        id: String, accountID: String, contactID: String, channel: VerificationChannel, method: VerificationMethod,
        address: String, addressKey: String, locale: String, status: VerificationStatus = .pending, nonce: [UInt8],
        codeHash: String? = nil, tokenKey: [UInt8]? = nil, attempts: Int = 0, sendCount: Int = 1, lastSentAt: Date,
        createdAt: Date, expiresAt: Date, approvedAt: Date? = nil, batchID: String? = nil
    ) {
        self.id = id
        self.accountID = accountID
        self.contactID = contactID
        self.channel = channel
        self.method = method
        self.address = address
        self.addressKey = addressKey
        self.locale = locale
        self.status = status
        self.nonce = nonce
        self.codeHash = codeHash
        self.tokenKey = tokenKey
        self.attempts = attempts
        self.sendCount = sendCount
        self.lastSentAt = lastSentAt
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.approvedAt = approvedAt
        self.batchID = batchID
    }

    /// A new verification id (`vf_…`).
    public static func makeID() -> String { RandomID.make(prefix: "vf_") }
}

/// Delivery state of an outbox message.
public enum MessageStatus: String, Sendable, Codable, CaseIterable {
    case queued
    case sending
    case sent
    case delivered
    case undelivered
    case failed
    case expired
    case canceled

    /// Whether the worker is done with the message.
    public var isTerminal: Bool { ![.queued, .sending].contains(self) }
}

/// One delivery of a verification (an outbox row). Holds no secret: the worker derives the
/// code or link from the verification's nonce when it renders.
public struct OutboxMessage: Sendable, Equatable {
    public var id: String
    public var accountID: String
    public var verificationID: String
    public var channel: VerificationChannel
    public var status: MessageStatus
    public var attempts: Int
    public var nextAttemptAt: Date
    /// The secret's expiry: the message is never sent after it.
    public var expiresAt: Date
    public var providerMessageID: String?
    public var lastErrorCode: String?
    public var lastErrorMessage: String?
    public var createdAt: Date
    public var updatedAt: Date

    public init(
        id: String, accountID: String, verificationID: String, channel: VerificationChannel, status: MessageStatus = .queued,
        attempts: Int = 0, nextAttemptAt: Date, expiresAt: Date, providerMessageID: String? = nil,
        lastErrorCode: String? = nil, lastErrorMessage: String? = nil, createdAt: Date, updatedAt: Date
    ) {
        self.id = id
        self.accountID = accountID
        self.verificationID = verificationID
        self.channel = channel
        self.status = status
        self.attempts = attempts
        self.nextAttemptAt = nextAttemptAt
        self.expiresAt = expiresAt
        self.providerMessageID = providerMessageID
        self.lastErrorCode = lastErrorCode
        self.lastErrorMessage = lastErrorMessage
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    /// A new message id (`msg_…`).
    public static func makeID() -> String { RandomID.make(prefix: "msg_") }
}

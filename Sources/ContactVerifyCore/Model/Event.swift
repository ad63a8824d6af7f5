import Foundation

/// An event for an account's `callbackUrl` (design §3, Events): stored in the same
/// transaction as the change it reports, then delivered with retries. Its payload never
/// carries a code or a token.
public struct Event: Sendable, Equatable {
    public enum Status: String, Sendable {
        case queued, sending, delivered, failed
    }

    public var id: String
    public var accountID: String
    /// `verification.approved`, `verification.failed`, `verification.expired`, `batch.completed`.
    public var type: String
    /// The JSON body sent, as stored.
    public var payload: [UInt8]
    public var status: Status
    public var attempts: Int
    public var nextAttemptAt: Date
    public var lastError: String?
    public var createdAt: Date

    public init(
        id: String, accountID: String, type: String, payload: [UInt8], status: Status = .queued, attempts: Int = 0,
        nextAttemptAt: Date, lastError: String? = nil, createdAt: Date
    ) {
        self.id = id
        self.accountID = accountID
        self.type = type
        self.payload = payload
        self.status = status
        self.attempts = attempts
        self.nextAttemptAt = nextAttemptAt
        self.lastError = lastError
        self.createdAt = createdAt
    }

    public static func makeID() -> String { RandomID.make(prefix: "evt_") }

    /// How long an event is retried before it is given up.
    public static let retryWindow: TimeInterval = 24 * 60 * 60
}

/// An event claimed for delivery, with where it goes.
public struct ClaimedEvent: Sendable {
    public var event: Event
    public var callbackURL: String
    public var callbackSecret: String?

    public init(event: Event, callbackURL: String, callbackSecret: String?) {
        self.event = event
        self.callbackURL = callbackURL
        self.callbackSecret = callbackSecret
    }
}

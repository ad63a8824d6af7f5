import Foundation

/// A verification batch: one verification for each of up to 10,000 contacts, worked through in
/// the background (design §3).
public struct Batch: Sendable, Equatable {
    public enum Status: String, Sendable {
        case running
        case completed
    }

    public var id: String
    public var accountID: String
    public var channel: VerificationChannel
    public var method: VerificationMethod
    public var status: Status
    /// Distinct contacts in the batch.
    public var total: Int
    public var createdAt: Date
    public var completedAt: Date?

    public init(
        id: String, accountID: String, channel: VerificationChannel, method: VerificationMethod, status: Status = .running,
        total: Int, createdAt: Date, completedAt: Date? = nil
    ) {
        self.id = id
        self.accountID = accountID
        self.channel = channel
        self.method = method
        self.status = status
        self.total = total
        self.createdAt = createdAt
        self.completedAt = completedAt
    }

    /// The most contacts one batch may hold.
    public static let maxContacts = 10_000

    public static func makeID() -> String { RandomID.make(prefix: "vb_") }
}

/// What became of one contact of a batch. `queued`, `sent`, `failed` and `verified` follow the
/// contact's verification and its message; the `skipped_…` outcomes are final.
public enum BatchOutcome: String, Sendable, CaseIterable {
    case queued
    case sent
    case failed
    case verified
    case skippedVerified = "skipped_verified"
    case skippedNoAddress = "skipped_no_address"
    case skippedNotFound = "skipped_not_found"
    case skippedLocked = "skipped_locked"

    /// The bucket of the batch's counts this outcome adds to.
    public var count: BatchCounts.Bucket {
        switch self {
        case .queued: .queued
        case .sent: .sent
        case .failed: .failed
        case .verified: .verified
        case .skippedVerified, .skippedNoAddress, .skippedNotFound, .skippedLocked: .skipped
        }
    }
}

/// One contact of a batch and its outcome so far.
public struct BatchItem: Sendable, Equatable {
    public var contactID: String
    public var outcome: BatchOutcome
    public var verificationID: String?
    public var errorCode: String?
    public var errorMessage: String?

    public init(contactID: String, outcome: BatchOutcome, verificationID: String? = nil, errorCode: String? = nil, errorMessage: String? = nil) {
        self.contactID = contactID
        self.outcome = outcome
        self.verificationID = verificationID
        self.errorCode = errorCode
        self.errorMessage = errorMessage
    }
}

/// A batch's counts; they always add up to its total.
public struct BatchCounts: Sendable, Equatable {
    public enum Bucket: String, Sendable, CaseIterable {
        case queued, sent, failed, skipped, verified
    }

    public var values: [Bucket: Int]

    public init(_ values: [Bucket: Int] = [:]) {
        self.values = values
    }

    public subscript(_ bucket: Bucket) -> Int { values[bucket] ?? 0 }

    public var sum: Int { values.values.reduce(0, +) }
}

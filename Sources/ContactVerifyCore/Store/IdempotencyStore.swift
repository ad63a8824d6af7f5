import Crypto
import Foundation

/// What a store says when a request arrives with an `Idempotency-Key` (design §3).
public enum IdempotencyClaim: Sendable, Equatable {
    /// The key is new (or its record expired, or its claim went stale with nothing written):
    /// the caller runs the request under an ``IdempotencyMark``, then completes or releases the key.
    case proceed
    /// The same key and request finished before: send this response again.
    case replay(status: Int, body: [UInt8])
    /// The request's transaction committed and named `resourceID`, but its response was never
    /// stored (the process died in between): answer from that resource.
    case committed(resourceID: String)
    /// The key was used for a different request: `422 idempotency_key_reused`.
    case mismatch
    /// The same key is still being processed: `409 idempotency_key_in_use`.
    case inFlight
}

/// One claim of an `Idempotency-Key`: the claim a request made at `claimedAt`.
///
/// The write that creates the request's resource (``Store/insertContact(_:idempotency:)``,
/// ``BatchStore/createBatch(_:contactIDs:idempotency:)``, ``VerificationWrite/idempotency``)
/// records the resource's id on the claim in its own transaction, so a crash after the commit
/// still tells a retry what was created (``IdempotencyClaim/committed(resourceID:)``). It does so
/// only while this very claim holds the key: a claim another request took over after
/// ``Idempotency/inFlightTimeout`` makes the write fail with `409 idempotency_key_in_use`, and
/// nothing of it is kept.
public struct IdempotencyMark: Sendable, Equatable {
    public var accountID: String
    public var key: String
    /// The claim's time, as passed to ``IdempotencyStore/claimIdempotencyKey(accountID:key:fingerprint:now:staleAfter:retention:)``
    /// (whole milliseconds identify the claim).
    public var claimedAt: Date

    public init(accountID: String, key: String, claimedAt: Date) {
        self.accountID = accountID
        self.key = key
        self.claimedAt = claimedAt
    }
}

/// Idempotency records: one per (account, key), kept 24 hours.
public protocol IdempotencyStore: Sendable {
    /// Claims `key` for a request with `fingerprint`. An in-flight claim older than `staleAfter`
    /// whose request wrote nothing (its process died before the commit) may be taken over; one
    /// whose request committed answers ``IdempotencyClaim/committed(resourceID:)`` at once. A
    /// record older than `retention` counts as absent.
    func claimIdempotencyKey(
        accountID: String, key: String, fingerprint: [UInt8], now: Date, staleAfter: TimeInterval, retention: TimeInterval
    ) async throws -> IdempotencyClaim

    /// Stores the response of a claimed request so that retries replay it (the first stored
    /// response stays).
    func completeIdempotencyKey(accountID: String, key: String, status: Int, body: [UInt8], now: Date) async throws

    /// Forgets a claim whose request failed before anything was committed under it, so the
    /// client may retry with the same key. Leaves a claim another request took over alone.
    func releaseIdempotencyKey(_ mark: IdempotencyMark) async throws
}

/// The rules of `Idempotency-Key` shared by the API and the stores.
public enum Idempotency {
    /// How long a key's response is replayed (design §3: 24 hours).
    public static let retention: TimeInterval = 24 * 60 * 60
    /// How long an unfinished claim blocks its key before another request may take it over
    /// (the process that claimed it died before its commit); the default of `serve
    /// --idempotency-timeout`.
    public static let inFlightTimeout: TimeInterval = 60

    /// The error of a write whose claim was taken over (or never made): its transaction rolls back.
    public static let claimLost = ServiceError(
        .conflict, code: "idempotency_key_in_use", detail: "A request with this Idempotency-Key is still being processed.",
        retryAfter: 1)

    /// The identity of a request under a key: SHA-256 over the method, the path and the body, each length-prefixed.
    public static func fingerprint(method: String, path: String, body: some Collection<UInt8>) -> [UInt8] {
        var hasher = SHA256()
        for part in [Array(method.utf8), Array(path.utf8), Array(body)] {
            withUnsafeBytes(of: UInt64(part.count).bigEndian) { hasher.update(bufferPointer: $0) }
            hasher.update(data: part)
        }
        return Array(hasher.finalize())
    }
}

/// Everything the service keeps: accounts, keys and contacts, verifications and the outbox,
/// batches, events, idempotency records, and the shared send limits of chatbot robots and
/// providers.
public typealias ServiceStore = Store & VerificationStore & BatchStore & EventStore & IdempotencyStore & WebhookSendStore
    & ProviderPauseStore

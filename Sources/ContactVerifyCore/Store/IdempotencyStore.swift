import Crypto
import Foundation

/// What a store says when a request arrives with an `Idempotency-Key` (design §3).
public enum IdempotencyClaim: Sendable, Equatable {
    /// The key is new (or its record expired): the caller runs the request, then completes or
    /// releases the key.
    case proceed
    /// The same key and request finished before: send this response again.
    case replay(status: Int, body: [UInt8])
    /// The key was used for a different request: `422 idempotency_key_reused`.
    case mismatch
    /// The same key is still being processed: `409 idempotency_key_in_use`.
    case inFlight
}

/// Idempotency records: one per (account, key), kept 24 hours.
public protocol IdempotencyStore: Sendable {
    /// Claims `key` for a request with `fingerprint`. An in-flight claim older than `staleAfter`
    /// (its process died) may be taken over; a record older than `retention` counts as absent.
    func claimIdempotencyKey(
        accountID: String, key: String, fingerprint: [UInt8], now: Date, staleAfter: TimeInterval, retention: TimeInterval
    ) async throws -> IdempotencyClaim

    /// Stores the response of a claimed request so that retries replay it.
    func completeIdempotencyKey(accountID: String, key: String, status: Int, body: [UInt8], now: Date) async throws

    /// Forgets a claim whose request failed, so the client may retry with the same key.
    func releaseIdempotencyKey(accountID: String, key: String) async throws
}

/// The rules of `Idempotency-Key` shared by the API and the stores.
public enum Idempotency {
    /// How long a key's response is replayed (design §3: 24 hours).
    public static let retention: TimeInterval = 24 * 60 * 60
    /// How long an unfinished claim blocks its key before another request may take it over
    /// (the process that claimed it died).
    public static let inFlightTimeout: TimeInterval = 60

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
/// batches, events, and idempotency records.
public typealias ServiceStore = Store & VerificationStore & BatchStore & EventStore & IdempotencyStore & WebhookSendStore

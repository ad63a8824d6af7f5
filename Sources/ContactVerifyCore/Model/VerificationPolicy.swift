import Foundation

/// Every limit of design §4, with its default. All are configurable; all state they need is
/// kept in the store, so they hold across restarts and instances.
public struct VerificationPolicy: Sendable, Equatable {
    /// Digits in a code (4–10; NIST needs ≥ 6 for 20 bits).
    public var codeDigits = 6
    /// How long a code works (NIST 800-63B: at most 10 minutes).
    public var codeLifetime: TimeInterval = 10 * 60
    /// How long a link works (batch links are read later).
    public var linkLifetime: TimeInterval = 24 * 60 * 60
    /// Wrong codes per verification before it is dead.
    public var maxChecksPerVerification = 5
    /// Wrong codes in a row on one address, across resends and verifications, before it locks.
    public var maxConsecutiveFailures = 100
    /// How long a locked address stays locked unless an admin unlocks it.
    public var lockDuration: TimeInterval = 24 * 60 * 60
    /// Messages per verification (first send included).
    public var maxSendsPerVerification = 5
    /// Wait before the first resend; each further resend waits twice as long as the previous one.
    public var resendCooldown: TimeInterval = 30
    /// Messages to one address per rolling 24 hours, across verifications.
    public var maxSendsPerAddressPerDay = 10

    public init() {}

    /// Lifetime of a secret sent by `method`.
    public func lifetime(of method: VerificationMethod) -> TimeInterval {
        method == .code ? codeLifetime : linkLifetime
    }

    /// Wait required after the `sendCount`-th send before the next one: 30 s, 60 s, 120 s, …
    public func cooldown(afterSend sendCount: Int) -> TimeInterval {
        resendCooldown * pow(2, Double(max(0, sendCount - 1)))
    }
}

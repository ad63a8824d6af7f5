import Foundation

/// Exponential backoff with full jitter (AWS, "Exponential Backoff and Jitter"):
/// `delay = random(0, min(cap, base · 2^(attempt − 1)))` for attempts from 1, never past the secret's expiry.
public struct RetrySchedule: Sendable, Equatable {
    public var base: TimeInterval = 2
    public var cap: TimeInterval = 60

    public init(base: TimeInterval = 2, cap: TimeInterval = 60) {
        self.base = base
        self.cap = cap
    }

    /// The delay before retry number `attempt` (1 for the first retry).
    public func delay(attempt: Int) -> TimeInterval {
        let ceiling = min(cap, base * pow(2, Double(max(0, attempt - 1))))
        var generator = SystemRandomNumberGenerator()
        return Double.random(in: 0...ceiling, using: &generator)
    }
}

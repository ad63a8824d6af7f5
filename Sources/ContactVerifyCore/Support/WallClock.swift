import Foundation
import Synchronization

/// The source of "now" for every expiry, limit and timestamp, injected so tests move time
/// instead of sleeping.
public protocol WallClock: Sendable {
    /// The current time.
    func now() -> Date
}

/// The system clock, truncated to milliseconds (what the stores keep).
public struct SystemWallClock: WallClock {
    public init() {}
    public func now() -> Date { Date().truncatedToMilliseconds }
}

/// A clock that moves only when told to; for tests.
public final class ManualWallClock: WallClock {
    private let current: Mutex<Date>

    public init(_ start: Date = Date(timeIntervalSince1970: 1_800_000_000)) {
        current = Mutex(start.truncatedToMilliseconds)
    }

    public func now() -> Date { current.withLock { $0 } }

    /// Moves the clock forward (or backward, for a negative interval).
    public func advance(by seconds: TimeInterval) {
        current.withLock { $0 = ($0 + seconds).truncatedToMilliseconds }
    }
}

extension Date {
    /// Milliseconds since 1970, the stores' time format.
    public var millisecondsSince1970: Int64 { Int64((timeIntervalSince1970 * 1000).rounded(.down)) }

    /// The date from milliseconds since 1970.
    public init(millisecondsSince1970 ms: Int64) {
        self.init(timeIntervalSince1970: TimeInterval(ms) / 1000)
    }

    /// This date with sub-millisecond precision dropped.
    public var truncatedToMilliseconds: Date { Date(millisecondsSince1970: millisecondsSince1970) }
}

/// The batch runner's rate limit: at most `ratePerSecond` verifications started in each
/// one-second window, where a window opens with the first pass after the previous one closed.
///
/// A pass that takes less than its budget has drained every pending item, so the runner then
/// waits to be woken (a new batch) instead of sleeping out the second: the new batch starts at
/// once, on what is left of the window's budget.
struct BatchPacing {
    /// What the runner does after a pass.
    enum Next: Equatable {
        /// Nothing (more) pending: wait for a new batch's wake-up, at most this long (items a
        /// pass had to leave pending, such as a busy hashing pool's, are tried again then).
        case waitForWork(Duration)
        /// The window's budget is spent: sleep until the window closes.
        case sleep(until: ContinuousClock.Instant)
    }

    static let window = Duration.seconds(1)

    let ratePerSecond: Int
    private(set) var windowStart: ContinuousClock.Instant?
    private(set) var used = 0

    init(ratePerSecond: Int) {
        precondition(ratePerSecond >= 1, "a batch rate must be at least 1 per second")
        self.ratePerSecond = ratePerSecond
    }

    /// How many items a pass starting at `now` may take: the rest of the current window's budget,
    /// or a whole budget once that window has closed.
    mutating func budget(at now: ContinuousClock.Instant) -> Int {
        if let start = windowStart, now - start < Self.window {
            return ratePerSecond - used
        }
        windowStart = now
        used = 0
        return ratePerSecond
    }

    /// Records a pass that worked on `worked` of its `budget` items; says what to do next.
    mutating func finished(worked: Int, budget: Int) -> Next {
        used += worked
        if worked < budget {
            return .waitForWork(Self.window)
        }
        return .sleep(until: (windowStart ?? .now) + Self.window)
    }
}

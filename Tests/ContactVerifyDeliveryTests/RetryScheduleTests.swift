import Testing

@testable import ContactVerifyDelivery

/// Full-jitter backoff (security.md F6, F14): each delay is uniform in
/// `[0, min(cap, base · 2^(attempt − 1))]`.
///
/// The statistical bounds are chosen so that a correct schedule fails them with negligible
/// probability (each is at least 5.5 standard deviations from its expectation; see each
/// check), while a schedule without jitter, with "equal jitter" or past the cap fails them.
@Suite("Retry schedule")
struct RetryScheduleTests {
    /// The upper bound of the delay before retry `attempt` with the given base and cap.
    static func ceiling(_ attempt: Int, base: Double = 2, cap: Double = 60) -> Double {
        min(cap, base * Double(1 << max(0, attempt - 1)))
    }

    @Test("every delay lies in [0, min(cap, base·2^(n-1))]; the default is base 2 s, cap 60 s", arguments: 1...12)
    func bounds(attempt: Int) {
        let schedule = RetrySchedule()
        #expect(schedule == RetrySchedule(base: 2, cap: 60))
        let ceiling = Self.ceiling(attempt)
        for _ in 0..<1000 {
            let delay = schedule.delay(attempt: attempt)
            #expect(delay >= 0 && delay <= ceiling, "attempt \(attempt): \(delay) outside [0, \(ceiling)]")
        }
    }

    @Test("1,000 draws spread over the whole range: distinct, mean near half the bound, every quarter used", arguments: [1, 3, 5, 6, 9])
    func fullJitter(attempt: Int) {
        let schedule = RetrySchedule()
        let ceiling = Self.ceiling(attempt)
        let draws = (0..<1000).map { _ in schedule.delay(attempt: attempt) }
        // Doubles drawn uniformly: a repeat among 1,000 is practically impossible.
        #expect(Set(draws).count >= 990)
        // Mean of 1,000 uniform draws: sd = ceiling · 0.2887 / √1000 ≈ 0.0091 · ceiling, so
        // ±0.06 · ceiling is 6.6 sd (false failure ≈ 4e-11).
        let mean = draws.reduce(0, +) / Double(draws.count)
        #expect(abs(mean - ceiling / 2) <= 0.06 * ceiling, "mean \(mean) for a bound of \(ceiling)")
        // Each quarter of the range holds 25 % ± 10 % of the draws (sd ≈ 1.37 %, 7.3 sd): full
        // jitter reaches down to 0, unlike "equal jitter" (half the bound plus a random half).
        for quarter in 0..<4 {
            let low = ceiling * Double(quarter) / 4
            let high = ceiling * Double(quarter + 1) / 4
            let share = Double(draws.count(where: { $0 >= low && $0 < high })) / Double(draws.count)
            #expect(share >= 0.15 && share <= 0.35, "quarter \(quarter) of [0, \(ceiling)] holds \(share)")
        }
    }

    @Test("the bound doubles per attempt up to the cap, and attempt 0 or below is treated as the first")
    func growthAndCap() {
        // The largest of 1,000 draws lies within 2 % of the bound (false failure 0.98^1000 ≈ 2e-9).
        func largest(_ schedule: RetrySchedule, _ attempt: Int) -> Double {
            (0..<1000).map { _ in schedule.delay(attempt: attempt) }.max() ?? 0
        }
        let schedule = RetrySchedule()
        for (attempt, bound) in [(0, 2.0), (-3, 2), (1, 2), (2, 4), (4, 16), (5, 32), (6, 60), (64, 60), (Int.max, 60)] {
            let top = largest(schedule, attempt)
            #expect(top <= bound && top >= bound * 0.98, "attempt \(attempt): largest \(top), bound \(bound)")
        }
        let custom = RetrySchedule(base: 0.5, cap: 3)
        #expect(largest(custom, 3) <= 2 && largest(custom, 3) >= 1.96)
        #expect(largest(custom, 10) <= 3 && largest(custom, 10) >= 2.94)
    }
}

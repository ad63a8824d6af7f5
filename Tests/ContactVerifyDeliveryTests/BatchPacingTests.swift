import Testing

@testable import ContactVerifyDelivery

@Suite("Batch pacing")
struct BatchPacingTests {
    let start = ContinuousClock.now

    @Test("a pass that drains the pending items waits for a wake-up, not for the second to end")
    func drainedPassWaitsForWork() {
        var pacing = BatchPacing(ratePerSecond: 100)
        let budget = pacing.budget(at: start)
        #expect(budget == 100)
        #expect(pacing.finished(worked: 20, budget: budget) == .waitForWork(.seconds(1)))
    }

    @Test("a batch created within the second gets what is left of the second's budget")
    func newBatchUsesTheRestOfTheBudget() {
        var pacing = BatchPacing(ratePerSecond: 100)
        _ = pacing.finished(worked: 20, budget: pacing.budget(at: start))
        let rest = pacing.budget(at: start + .milliseconds(300))
        #expect(rest == 80)
        // It spends the rest: the runner sleeps until the window that began at `start` closes.
        #expect(pacing.finished(worked: 80, budget: rest) == .sleep(until: start + .seconds(1)))
    }

    @Test("a spent budget sleeps out the second, and the next second brings a whole budget")
    func spentBudgetSleeps() {
        var pacing = BatchPacing(ratePerSecond: 50)
        let budget = pacing.budget(at: start)
        #expect(pacing.finished(worked: 50, budget: budget) == .sleep(until: start + .seconds(1)))
        #expect(pacing.budget(at: start + .seconds(1)) == 50)
        // The new window starts at that pass, not where the old one would have.
        #expect(pacing.finished(worked: 50, budget: 50) == .sleep(until: start + .seconds(2)))
    }

    @Test("a pass after a long pause opens a new window with a whole budget")
    func idleRunnerStartsAFreshWindow() {
        var pacing = BatchPacing(ratePerSecond: 10)
        _ = pacing.finished(worked: 7, budget: pacing.budget(at: start))
        #expect(pacing.budget(at: start + .seconds(5)) == 10)
        #expect(pacing.windowStart == start + .seconds(5))
    }

    @Test("an idle pass (nothing pending) waits for a wake-up")
    func idlePassWaits() {
        var pacing = BatchPacing(ratePerSecond: 10)
        #expect(pacing.finished(worked: 0, budget: pacing.budget(at: start)) == .waitForWork(.seconds(1)))
    }
}

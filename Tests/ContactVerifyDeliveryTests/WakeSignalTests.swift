import Testing

@testable import ContactVerifyDelivery

@Suite("Wake signal")
struct WakeSignalTests {
    @Test("a signal before the wait ends it at once")
    func signalBeforeWait() async {
        let wake = WakeSignal()
        wake.signal()
        let elapsed = await ContinuousClock().measure { await wake.wait(timeout: .seconds(60)) }
        #expect(elapsed < .seconds(30))
    }

    @Test("a signal during the wait ends it")
    func signalDuringWait() async {
        let wake = WakeSignal()
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await wake.wait(timeout: .seconds(60)) }
            // Signal until the waiter has returned: a signal may land before it starts waiting.
            group.addTask {
                while !Task.isCancelled {
                    wake.signal()
                    await Task.yield()
                }
            }
            await group.next()
            group.cancelAll()
        }
    }

    @Test("after a wait ended by a signal, the next wait lasts its whole timeout (no spinning)")
    func nextWaitSleeps() async {
        let wake = WakeSignal()
        wake.signal()
        await wake.wait(timeout: .seconds(60))
        // A cancelled timer of the first wait must not count as a signal for this one.
        let elapsed = await ContinuousClock().measure { await wake.wait(timeout: .milliseconds(300)) }
        #expect(elapsed >= .milliseconds(300))
        // Nor for the one after it.
        let again = await ContinuousClock().measure { await wake.wait(timeout: .milliseconds(300)) }
        #expect(again >= .milliseconds(300))
    }
}

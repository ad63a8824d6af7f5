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

    /// Whether `wait` ends within `seconds`. A wait that does not is then ended by a signal,
    /// so a broken wake fails the test instead of hanging the run.
    static func endsWithin(_ seconds: Int, _ wake: WakeSignal, _ wait: @escaping @Sendable () async -> Void) async -> Bool {
        await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                await wait()
                return true
            }
            group.addTask {
                try? await Task.sleep(for: .seconds(seconds))
                return false
            }
            let first = await group.next() ?? false
            if !first { wake.signal() }
            group.cancelAll()
            return first
        }
    }

    @Test("a wait ends when its task is cancelled, and leaves nothing behind for the next one")
    func cancelledWaitEnds() async {
        let wake = WakeSignal()
        let waiting = Task { await wake.wait(timeout: .seconds(600)) }
        waiting.cancel()
        #expect(await Self.endsWithin(30, wake) { await waiting.value })
        let next = await ContinuousClock().measure { await wake.wait(timeout: .milliseconds(300)) }
        #expect(next >= .milliseconds(300))
    }

    @Test("a zero timeout ends the wait at once")
    func zeroTimeout() async {
        let wake = WakeSignal()
        #expect(await Self.endsWithin(30, wake) { await wake.wait(timeout: .zero) })
    }
}

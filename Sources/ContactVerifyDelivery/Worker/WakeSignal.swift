import ServiceLifecycle
import Synchronization

/// Wakes a sleeping worker early: `signal()` ends the current (or next) `wait`.
final class WakeSignal: Sendable {
    private struct State {
        var pending = false
        var waiter: CheckedContinuation<Void, Never>?
    }

    private let state = Mutex(State())

    /// Wakes the waiter, or makes the next `wait` return at once.
    func signal() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if let waiter = state.waiter {
                state.waiter = nil
                return waiter
            }
            state.pending = true
            return nil
        }
        waiter?.resume()
    }

    /// Returns after `timeout` or at the first signal, whichever comes first.
    func wait(timeout: Duration) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                // Only a timeout that ran out wakes the waiter. Once a signal has woken it, this
                // task is cancelled; signalling then would leave `pending` set, so the next wait
                // would return at once and cancel its own timer the same way: the worker would
                // spin through passes for ever after its first signal.
                guard (try? await Task.sleep(for: timeout)) != nil else { return }
                self.signal()
            }
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state -> Bool in
                    if state.pending {
                        state.pending = false
                        return true
                    }
                    state.waiter = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
            group.cancelAll()
        }
    }

    /// Runs `cycle` over and over until graceful shutdown or cancellation; shutdown signals this
    /// wake so a cycle waiting on it ends at once. The loop every background worker shares.
    func repeatUntilShutdown(_ cycle: () async -> Void) async {
        await withGracefulShutdownHandler {
            while !Task.isShuttingDownGracefully && !Task.isCancelled {
                await cycle()
            }
        } onGracefulShutdown: {
            self.signal()
        }
    }
}

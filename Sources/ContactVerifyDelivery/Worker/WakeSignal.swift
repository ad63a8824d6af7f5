import ServiceLifecycle
import Synchronization

/// Wakes a sleeping worker early: `signal()` ends the current (or next) `wait`.
///
/// One worker waits on a signal at a time. A wait ends at the first signal, when its timeout
/// runs out, or when the waiting task is cancelled; only a signal is ever left behind for the
/// next wait.
final class WakeSignal: Sendable {
    private struct State {
        /// A signal nobody was waiting for: the next wait returns at once.
        var pending = false
        var waiter: (id: UInt64, continuation: CheckedContinuation<Void, Never>)?
        var lastID: UInt64 = 0
        /// A wait whose timeout (or cancellation) came before it started waiting.
        var endedEarly: UInt64?
    }

    private let state = Mutex(State())

    /// Wakes the waiter, or makes the next `wait` return at once.
    func signal() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if let waiter = state.waiter {
                state.waiter = nil
                return waiter.continuation
            }
            state.pending = true
            return nil
        }
        waiter?.resume()
    }

    /// Whether a signal is waiting for the next `wait` (for tests: a worker never needs to know).
    var isPending: Bool { state.withLock { $0.pending } }

    /// Returns after `timeout`, at the first signal, or once the calling task is cancelled,
    /// whichever comes first.
    func wait(timeout: Duration) async {
        let id = state.withLock { state -> UInt64 in
            state.lastID += 1
            return state.lastID
        }
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                // Timed out, or cancelled (by the caller, or below once a signal ended the wait).
                try? await Task.sleep(for: timeout)
                self.end(id)
            }
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state -> Bool in
                    if state.pending {
                        state.pending = false
                        return true
                    }
                    if state.endedEarly == id {
                        state.endedEarly = nil
                        return true
                    }
                    state.waiter = (id, continuation)
                    return false
                }
                if resumeNow { continuation.resume() }
            }
            group.cancelAll()
        }
    }

    /// Ends wait `id`: resumes it if it is waiting, or lets it return at once if it has not
    /// begun. Unlike `signal()` this never leaves anything for a later wait: a timer cancelled
    /// after a signal must not end the next wait too (that made every worker spin).
    private func end(_ id: UInt64) {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if let waiter = state.waiter, waiter.id == id {
                state.waiter = nil
                return waiter.continuation
            }
            if state.waiter == nil { state.endedEarly = id }
            return nil
        }
        waiter?.resume()
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

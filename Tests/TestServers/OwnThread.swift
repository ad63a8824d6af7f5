import Foundation

/// Runs `body`, a call that blocks its thread (a child's pipe read to its end,
/// `Process.waitUntilExit()`), on a thread of its own, and returns its result.
///
/// Blocking calls must stay off Swift concurrency's threads. On Linux those are libdispatch's
/// default-QoS workers, shared with `DispatchQueue.global()`: as many as there are cores (two
/// on the CI machine), more only once libdispatch's monitor notices blocked ones. The suites run
/// in parallel in one process, so a test blocking a worker takes it from every other test: with
/// one test reading the phone oracle's output and another waiting for a CLI command, every
/// `URLSession` answer in the process waited 5 s to be delivered (the F22 second-writer test's p99).
public func onOwnThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try body() }) }.start()
    }
}

/// `onOwnThread` for a `body` that cannot throw.
public func onOwnThread<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        Thread { continuation.resume(returning: body()) }.start()
    }
}

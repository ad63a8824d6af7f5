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

/// What a child process left when it ended.
public struct ProcessResult: Sendable {
    /// Its exit status.
    public var status: Int32
    /// Its standard output (with standard error, if they were merged), as text.
    public var output: String
    /// Its standard error, as text (empty if it was merged into `output`).
    public var errors: String
}

extension Process {
    /// Starts the process with its standard output and error into pipes (one pipe, with
    /// `mergingErrors`), and waits on threads of their own until it ends and both are read.
    public func runToEnd(mergingErrors: Bool = false) async throws -> ProcessResult {
        let output = Pipe()
        let errors = mergingErrors ? output : Pipe()
        standardOutput = output
        standardError = errors
        try run()
        // Both pipes are drained at once, so a child filling one cannot stall on the other.
        async let errorText = mergingErrors
            ? "" : onOwnThread { String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self) }
        let outputText = await onOwnThread { String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self) }
        let status = await exitStatus()
        return ProcessResult(status: status, output: outputText, errors: await errorText)
    }

    /// Waits on a thread of its own until the process has ended; returns its exit status.
    public func exitStatus() async -> Int32 {
        let process = UncheckedProcess(process: self)
        return await onOwnThread {
            process.process.waitUntilExit()
            return process.process.terminationStatus
        }
    }
}

/// A `Process` handed to the one thread that waits for it (Foundation does not mark it `Sendable`).
private struct UncheckedProcess: @unchecked Sendable {
    let process: Process
}

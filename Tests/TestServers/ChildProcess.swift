import Foundation

/// Held while a child process starts, and while a pipe for one is made.
///
/// On Linux, `Process.run()` learns that a child ended when the child's end of a socket pair
/// closes, and it closes, in the child, every other descriptor up to the highest one open when
/// it starts. A descriptor another thread opens in between (the socket pair of a second
/// `run()`, a `Pipe`) slips into the child. Once a long-lived child (a test server) holds
/// another child's socket end, that child's exit goes unnoticed until the server ends too:
/// `isRunning` stays true, `waitUntilExit()` spins, and the child stays a zombie
/// (swift-corelibs-foundation#4795). A CI run hung eight minutes that way. The suites start
/// children in parallel in one process, so every start and every pipe goes through this lock.
private let spawnLock = NSLock()

extension Process {
    /// Starts the process (`run()`) while no other test starts one or makes a pipe for one
    /// (see `spawnLock`), so it inherits no other child's descriptors.
    public func spawn() throws {
        try spawnLock.withLock { try run() }
    }

    /// Starts the process with its standard output and error into pipes (one pipe, with
    /// `mergingErrors`), and waits on threads of their own until it ends and both are read.
    public func runToEnd(mergingErrors: Bool = false) async throws -> ProcessResult {
        let output = Pipe.forChild()
        let errors = mergingErrors ? output : Pipe.forChild()
        standardOutput = output
        standardError = errors
        try spawn()
        // Both pipes are drained at once, so a child filling one cannot stall on the other.
        async let errorText = mergingErrors
            ? "" : onOwnThread { String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self) }
        let outputText = await onOwnThread { String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self) }
        let status = await exitStatus()
        return ProcessResult(status: status, output: outputText, errors: await errorText)
    }

    /// Waits on a thread of its own until the process has ended; returns its exit status.
    public func exitStatus() async -> Int32 {
        await onOwnThread { self.waitForExit() }
    }

    /// Ends the process with SIGKILL, if it runs, and blocks until the kernel has it as ended
    /// (its ports and files closed). SIGKILL, because a child started from a Swift concurrency
    /// thread inherits that thread's blocked signals, so a SIGTERM could stay pending; the test
    /// servers this ends have nothing to flush.
    public func killAndWait() {
        guard isRunning else { return }
        Foundation.kill(processIdentifier, SIGKILL)
        _ = waitForExit()
    }

    /// Blocks until the process has ended; returns its exit status, or the number of the
    /// signal that ended it (as `terminationStatus` does). It asks the kernel (`waitid` with
    /// `WNOWAIT`, leaving the reaping to Foundation), so it returns even when Foundation has
    /// not noticed the exit.
    func waitForExit() -> Int32 {
        var info = siginfo_t()
        while waitid(P_PID, id_t(processIdentifier), &info, WEXITED | WNOWAIT) == -1 {
            guard errno == EINTR else {
                // ECHILD: Foundation has reaped it already and holds its status.
                waitUntilExit()
                return terminationStatus
            }
        }
        return info._sifields._sigchld.si_status
    }
}

extension Pipe {
    /// A pipe for a child's standard input, output or error, made while no child starts (see
    /// `spawnLock`), so no other child inherits it and holds it open.
    public static func forChild() -> Pipe {
        spawnLock.withLock { Pipe() }
    }
}

/// Runs `command` through `popen` while no other child starts (see `spawnLock`), so it
/// inherits no child's socket end; returns the stream, or nil if it could not start.
func spawnLockedPopen(_ command: String) -> UnsafeMutablePointer<FILE>? {
    spawnLock.withLock { popen(command, "r") }
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

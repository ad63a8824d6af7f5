import Foundation
import TestServers
import Testing

/// The suites start their servers and commands in parallel, from one process: each child must
/// inherit none of another's descriptors (see `Process.spawn()`), or a child's exit can go
/// unnoticed while a server holding its exit socket lives on.
@Suite struct ChildProcessTests {
    /// Three rounds at once, each of 64 children started by eight threads of their own. Without
    /// the lock `spawn()` and `Pipe.forChild()` share, children held others' pipes or exit
    /// sockets in every run, and Foundation then missed killed children's ends. The starts run
    /// on threads of their own (`onOwnThread`), not as 64 tasks: a task waiting for the lock
    /// holds one of Swift concurrency's threads, which libdispatch makes up for with more (a CI
    /// run with the tasks crashed in `Process.run()` with 727 of its threads alive).
    @Test("children started at once from many threads share no pipe or exit socket, and each is seen to end once killed", arguments: 1...3)
    func childrenInheritNothing(round: Int) async throws {
        let children = try await withThrowingTaskGroup(of: [Process].self) { group in
            for _ in 0..<8 {
                group.addTask { try await onOwnThread { try (0..<8).map { _ in try Self.startSleeper() } } }
            }
            return try await group.reduce(into: [Process]()) { $0 += $1 }
        }
        defer { children.forEach { $0.killAndWait() } }
        // What each child's descriptors refer to ("pipe:[inode]", "socket:[inode]"): a pipe or
        // exit socket of one child found in another is a leak. (Other suites' descriptors can
        // slip into one child, as they are not made under the lock, but never into two.)
        var holders: [String: Set<Int32>] = [:]
        for child in children {
            let folder = "/proc/\(child.processIdentifier)/fd"
            for descriptor in try FileManager.default.contentsOfDirectory(atPath: folder) {
                let target = try FileManager.default.destinationOfSymbolicLink(atPath: folder + "/" + descriptor)
                // A file's path can recur (opened again later); a pipe's or socket's inode cannot.
                guard target.hasPrefix("pipe:") || target.hasPrefix("socket:") else { continue }
                holders[target, default: []].insert(child.processIdentifier)
            }
        }
        let shared = holders.filter { $0.value.count > 1 }
        #expect(shared.isEmpty, "descriptors held by more than one child: \(shared)")
        for child in children {
            child.killAndWait()
            try await waitFor(!child.isRunning, "Foundation to see child \(child.processIdentifier) end")
        }
    }

    /// A child that sleeps for ten minutes, its three standard streams on pipes.
    private static func startSleeper() throws -> Process {
        let child = Process()
        child.executableURL = URL(fileURLWithPath: "/bin/sleep")
        child.arguments = ["600"]
        child.standardInput = Pipe.forChild()
        child.standardOutput = Pipe.forChild()
        child.standardError = Pipe.forChild()
        try child.spawn()
        return child
    }
}

import Foundation
import TestServers
import Testing

/// The suites start their servers and commands in parallel, from one process: each child must
/// inherit none of another's descriptors (see `Process.spawn()`), or a child's exit can go
/// unnoticed while a server holding its exit socket lives on.
@Suite struct ChildProcessTests {
    /// Three rounds of 64 children, run at once: without the lock `spawn()` and
    /// `Pipe.forChild()` share, each of four runs left children holding others' descriptors,
    /// and Foundation then missed killed children's ends (one round alone failed two runs of six).
    @Test("children started at once from many tasks hold only their standard streams and their own exit socket, and each is seen to end once killed", arguments: 1...3)
    func childrenInheritNothing(round: Int) async throws {
        let children = try await withThrowingTaskGroup(of: Process.self) { group in
            for _ in 0..<64 {
                group.addTask {
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
            return try await group.reduce(into: [Process]()) { $0.append($1) }
        }
        defer { children.forEach { $0.killAndWait() } }
        for child in children {
            let descriptors = try FileManager.default.contentsOfDirectory(atPath: "/proc/\(child.processIdentifier)/fd")
            let inherited = descriptors.filter { !["0", "1", "2"].contains($0) }
            #expect(inherited.count == 1, "child \(child.processIdentifier) holds \(descriptors.sorted())")
        }
        for child in children {
            child.killAndWait()
            try await waitFor(!child.isRunning, "Foundation to see child \(child.processIdentifier) end")
        }
    }
}

import Foundation
import TestServers
import Testing

/// Command-line tools a black-box test runs to their end: the C compiler for the
/// `LD_PRELOAD` shims in scripts/servers, and the `sqlite3` shell on a service's data.
enum Tools {
    /// Runs `executable` to its end and returns its output (standard output and error, trimmed);
    /// records a failure if it exits non-zero.
    static func run(_ executable: String, _ arguments: [String]) async throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let result = try await process.runToEnd(mergingErrors: true)
        let text = result.output.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(result.status == 0, "\(executable) \(arguments.joined(separator: " ")): \(text)")
        return text
    }

    /// Compiles the shim `scripts/servers/<name>.c` into `folder` (warnings are errors) and
    /// returns the path of the shared object, for `LD_PRELOAD`.
    static func compileShim(_ name: String, into folder: String) async throws -> String {
        let library = folder + "/\(name).so"
        _ = try await run(
            "/usr/bin/cc",
            ["-Wall", "-Wextra", "-Werror", "-shared", "-fPIC", "-o", library, ServiceProcess.packageRoot + "/scripts/servers/\(name).c", "-ldl"])
        return library
    }

    /// The output of `sql` run by the `sqlite3` shell on `database`; `readOnly` for the
    /// database of a service that is still running.
    static func sqlite(_ database: String, _ sql: String, readOnly: Bool = false) async throws -> String {
        try await run("/usr/bin/sqlite3", (readOnly ? ["-readonly"] : []) + [database, sql])
    }
}

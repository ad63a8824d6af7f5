import Foundation

/// A throwaway PostgreSQL 15 cluster for this test process, started on first use by
/// `scripts/servers/postgres_cluster` on a free loopback port; its watchdog stops it and deletes
/// its folder when this process ends. Each test gets a database of its own.
public enum PostgresServer {
    /// The URL of the cluster's `postgres` database, and the cluster's folder.
    private static let cluster = Task<(url: String, directory: String), any Error> {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let directory = "/tmp/cv-pg-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString.prefix(8))"
        let output = try await run(
            root.appendingPathComponent("scripts/servers/postgres_cluster").path,
            [directory, "\(try FreePort.one())", "\(ProcessInfo.processInfo.processIdentifier)"])
        guard let url = output.split(separator: "\n").last.map(String.init), url.hasPrefix("postgres://") else {
            throw TestServerError("postgres_cluster printed no URL: \(output)")
        }
        return (url, directory)
    }

    /// The CA certificate that signed the cluster's TLS certificate (for `sslmode=verify-full`).
    public static func caFile() async throws -> String {
        try await cluster.value.directory + "/ca.pem"
    }

    /// The URL of a new, empty database.
    public static func makeDatabaseURL() async throws -> String {
        let url = try await cluster.value.url
        let name = "t_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(16)
        _ = try await run("/usr/bin/psql", [url, "-q", "-v", "ON_ERROR_STOP=1", "-c", "CREATE DATABASE \(name)"])
        return String(url.dropLast("postgres".count)) + name
    }

    /// Runs a program to its end (on a thread of its own, `onOwnThread`) and returns its
    /// standard output and error; throws on a non-zero exit. (`popen`/`pclose` wait for exactly
    /// this child; `postgres_cluster` closes the descriptors it inherits, so the server it leaves
    /// running holds none of ours.)
    @discardableResult
    public static func run(_ path: String, _ arguments: [String]) async throws -> String {
        let command = ([path] + arguments).map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }
            .joined(separator: " ") + " 2>&1"
        return try await onOwnThread {
            guard let pipe = spawnLockedPopen(command) else { throw TestServerError("cannot start \(path)") }
            var output = Data()
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                let count = fread(&buffer, 1, buffer.count, pipe)
                if count == 0 { break }
                output.append(contentsOf: buffer[0..<count])
            }
            let status = pclose(pipe)
            let text = String(decoding: output, as: UTF8.self)
            guard status == 0 else { throw TestServerError("\(path) failed (\(status)): \(text)") }
            return text
        }
    }
}

public struct TestServerError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

import ContactVerifyCore
import Foundation
import Logging
import PostgresNIO
import TestServers
import Testing

@testable import ContactVerifyStore

@Suite("PostgreSQL connection settings: TLS, statement timeout, pool, URL")
struct PostgresConnectionTests {
    /// The store on a new database with `query` added to its URL.
    static func store(_ query: String, configure: (inout PostgresStoreConfiguration) -> Void = { _ in }) async throws -> PostgresStore {
        var configuration = try PostgresStoreConfiguration(url: try await PostgresServer.makeDatabaseURL() + "?" + query)
        configuration.poolSize = 2
        configure(&configuration)
        return try await PostgresStore(configuration, logger: Logger(label: "test"))
    }

    @Test("sslmode=verify-full with the cluster's CA: every pooled connection is encrypted")
    func verifiedTLS() async throws {
        let store = try await Self.store("sslmode=verify-full&sslrootcert=\(try await PostgresServer.caFile())")
        defer { Task { await store.close() } }
        let rows = try await store.rows("SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        let row = try #require(rows.first)
        #expect(row.bool("ssl"))
        #expect(row.text("version")?.hasPrefix("TLS") == true)
    }

    @Test("sslmode=disable: the same query shows a plain connection (the check above can fail)")
    func plainConnection() async throws {
        let store = try await Self.store("sslmode=disable")
        defer { Task { await store.close() } }
        let row = try #require(try await store.rows("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").first)
        #expect(row.integer("ssl") == 0)
    }

    @Test("sslmode=verify-full against a CA that did not sign the server's certificate fails start-up with the TLS reason")
    func untrustedCertificate() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("cv-ca-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try await PostgresServer.run("/usr/bin/openssl", [
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
            "-keyout", directory + "/other.key", "-out", directory + "/other.pem",
        ])
        // A ConfigurationError comes from the first, single connection; the pool would retry
        // for a minute and then throw its own circuit-breaker error without the reason.
        let error = await #expect(throws: ConfigurationError.self) {
            _ = try await Self.store("sslmode=verify-full&sslrootcert=\(directory)/other.pem")
        }
        #expect(error?.description.contains("CERTIFICATE_VERIFY_FAILED") == true, "\(error?.description ?? "")")
        #expect(error?.description.contains("postgres://postgres@127.0.0.1") == true)
        #expect(error?.description.contains("cv-test-password") == false, "the password never appears")
    }

    @Test("a wrong password fails start-up at once and names the server, not the password")
    func wrongPassword() async throws {
        let url = try await PostgresServer.makeDatabaseURL().replacingOccurrences(of: ":cv-test-password@", with: ":wrong-password@")
        let error = await #expect(throws: ConfigurationError.self) {
            _ = try await PostgresStore(try PostgresStoreConfiguration(url: url + "?sslmode=disable"), logger: Logger(label: "test"))
        }
        #expect(error?.description.contains("wrong-password") == false)
        #expect(error?.description.contains("28P01") == true, "PostgreSQL's invalid_password code: \(error?.description ?? "")")
    }

    @Test("the statement timeout is set on each connection and cancels a longer statement")
    func statementTimeout() async throws {
        let store = try await Self.store("sslmode=disable") { $0.statementTimeout = .milliseconds(1500) }
        defer { Task { await store.close() } }
        let row = try #require(try await store.rows("SHOW statement_timeout").first)
        #expect(row.text("statement_timeout") == "1500ms")
        let error = await #expect(throws: PSQLError.self) { _ = try await store.rows("SELECT pg_sleep(5)") }
        #expect(error?.serverInfo?[.sqlState] == "57014", "query_canceled")
    }

    @Test("the pool opens at most poolSize connections, however many queries wait")
    func poolSize() async throws {
        let store = try await Self.store("sslmode=disable") { $0.poolSize = 3 }
        defer { Task { await store.close() } }
        // The backend each query ran on. (Counting pg_stat_activity's rows instead also saw, on
        // a busy machine, the start-up connection's backend still exiting after its close.)
        let backends = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<12 {
                group.addTask {
                    let row = try #require(try await store.rows(
                        "WITH pause AS (SELECT pg_sleep(0.1)) SELECT pg_backend_pid() AS pid FROM pause").first)
                    return try #require(row.int("pid"))
                }
            }
            return try await group.reduce(into: Set<Int>()) { $0.insert($1) }
        }
        #expect(backends.count == 3, "12 queries that wait 0.1 s each share exactly the pool's 3 connections")
    }

    @Test("URL parsing: sslmode values, sslrootcert, unknown parameters and other schemes are refused")
    func urlParsing() throws {
        let url = try PostgresStoreConfiguration(url: "postgresql://svc:p%40ss@db.internal:6543/cv?sslmode=verify-ca&sslrootcert=/etc/ca.pem")
        #expect(url.host == "db.internal" && url.port == 6543 && url.username == "svc" && url.password == "p@ss")
        #expect(url.database == "cv" && url.tls == .verifyCA && url.caFile == "/etc/ca.pem")
        #expect(url.redacted == "postgres://svc@db.internal:6543/cv")
        #expect(try PostgresStoreConfiguration(url: "postgres://u@h/d").tls == .prefer)
        #expect(throws: ConfigurationError.self) { try PostgresStoreConfiguration(url: "postgres://u@h/d?sslmode=allow-everything") }
        #expect(throws: ConfigurationError.self) { try PostgresStoreConfiguration(url: "postgres://u@h/d?application_name=x") }
        #expect(throws: ConfigurationError.self) { try PostgresStoreConfiguration(url: "mysql://u@h/d") }
        #expect(throws: ConfigurationError.self) { try PostgresStoreConfiguration(url: "postgres:///d") }
    }
}

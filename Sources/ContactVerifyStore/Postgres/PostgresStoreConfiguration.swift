import ContactVerifyCore
import Foundation
import NIOSSL
import PostgresNIO

/// How to reach the PostgreSQL database: from a `postgres://user:password@host:port/database`
/// URL (libpq's form; `sslmode` and `sslrootcert` query parameters are understood) plus the
/// pool and timeout settings of design §6.
public struct PostgresStoreConfiguration: Sendable {
    /// libpq's `sslmode` values this store supports.
    public enum TLSMode: String, Sendable, CaseIterable {
        /// Plain TCP.
        case disable
        /// TLS when the server offers it, without certificate checks (libpq's default).
        case prefer
        /// TLS, without certificate checks.
        case require
        /// TLS with the certificate checked against the CA file (or the system store).
        case verifyCA = "verify-ca"
        /// TLS with the certificate and the host name checked.
        case verifyFull = "verify-full"
    }

    public var host: String
    public var port: Int
    public var username: String
    public var password: String?
    public var database: String?
    public var tls: TLSMode
    /// PEM file of CAs for `verify-ca` / `verify-full`.
    public var caFile: String?
    /// Connections each instance may open (`--database-pool-size`).
    public var poolSize = 10
    /// Longest a statement may run before the server cancels it (`--database-statement-timeout`).
    public var statementTimeout: Duration? = .seconds(30)

    /// Parses a `postgres://` or `postgresql://` URL.
    public init(url: String) throws(ConfigurationError) {
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(),
            scheme == "postgres" || scheme == "postgresql"
        else { throw ConfigurationError("The database URL must look like postgres://user:password@host:5432/database.") }
        guard let host = components.host, !host.isEmpty else { throw ConfigurationError("The database URL has no host.") }
        self.host = host
        self.port = components.port ?? 5432
        self.username = components.user.flatMap { $0.removingPercentEncoding } ?? "postgres"
        self.password = components.password.flatMap { $0.removingPercentEncoding }
        let path = components.path.drop { $0 == "/" }
        self.database = path.isEmpty ? nil : String(path).removingPercentEncoding
        var tls = TLSMode.prefer
        for item in components.queryItems ?? [] {
            switch item.name {
            case "sslmode":
                guard let mode = item.value.flatMap(TLSMode.init(rawValue:)) else {
                    throw ConfigurationError("sslmode must be one of \(TLSMode.allCases.map(\.rawValue).joined(separator: ", ")).")
                }
                tls = mode
            case "sslrootcert":
                caFile = item.value
            default:
                throw ConfigurationError("The database URL parameter \(item.name) is not supported (sslmode and sslrootcert are).")
            }
        }
        self.tls = tls
    }

    /// The `host:port/database` part, for logs (never the password).
    public var redacted: String { "postgres://\(username)@\(host):\(port)/\(database ?? "")" }

    /// postgres-nio's client (pool) configuration.
    func clientConfiguration() throws -> PostgresClient.Configuration {
        var configuration = PostgresClient.Configuration(
            host: host, port: port, username: username, password: password, database: database, tls: try clientTLS())
        configuration.options.maximumConnections = poolSize
        configuration.options.minimumConnections = 0
        if let parameter = statementTimeoutParameter {
            configuration.options.additionalStartupParameters = [parameter]
        }
        return configuration
    }

    /// A single connection with the same settings: the store opens one first, so that a wrong
    /// password, host or certificate fails start-up at once with PostgreSQL's own reason
    /// (the pool would retry for a minute and then report only that it gave up).
    func connectionConfiguration() throws -> PostgresConnection.Configuration {
        var configuration = PostgresConnection.Configuration(
            host: host, port: port, username: username, password: password, database: database,
            tls: try connectionTLS())
        if let parameter = statementTimeoutParameter {
            configuration.options.additionalStartupParameters = [parameter]
        }
        return configuration
    }

    /// The server-side `statement_timeout`, in milliseconds, sent when each connection starts.
    private var statementTimeoutParameter: (String, String)? {
        guard let statementTimeout else { return nil }
        let ms = statementTimeout.components.seconds * 1000 + statementTimeout.components.attoseconds / 1_000_000_000_000_000
        return ("statement_timeout", "\(ms)")
    }

    /// NIOSSL's settings for ``tls``.
    private func tlsConfiguration() -> TLSConfiguration {
        var tlsConfiguration = TLSConfiguration.makeClientConfiguration()
        switch tls {
        case .disable, .prefer, .require:
            tlsConfiguration.certificateVerification = .none
        case .verifyCA:
            tlsConfiguration.certificateVerification = .noHostnameVerification
        case .verifyFull:
            tlsConfiguration.certificateVerification = .fullVerification
        }
        if let caFile {
            tlsConfiguration.trustRoots = .file(caFile)
        }
        return tlsConfiguration
    }

    private func clientTLS() throws -> PostgresClient.Configuration.TLS {
        switch tls {
        case .disable: .disable
        case .prefer: .prefer(tlsConfiguration())
        case .require, .verifyCA, .verifyFull: .require(tlsConfiguration())
        }
    }

    private func connectionTLS() throws -> PostgresConnection.Configuration.TLS {
        switch tls {
        case .disable: .disable
        case .prefer: .prefer(try NIOSSLContext(configuration: tlsConfiguration()))
        case .require, .verifyCA, .verifyFull: .require(try NIOSSLContext(configuration: tlsConfiguration()))
        }
    }
}

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

    /// postgres-nio's client configuration.
    func clientConfiguration() throws -> PostgresClient.Configuration {
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
        let clientTLS: PostgresClient.Configuration.TLS =
            switch tls {
            case .disable: .disable
            case .prefer: .prefer(tlsConfiguration)
            case .require, .verifyCA, .verifyFull: .require(tlsConfiguration)
            }
        var configuration = PostgresClient.Configuration(
            host: host, port: port, username: username, password: password, database: database, tls: clientTLS)
        configuration.options.maximumConnections = poolSize
        configuration.options.minimumConnections = 0
        if let statementTimeout {
            let ms = statementTimeout.components.seconds * 1000 + statementTimeout.components.attoseconds / 1_000_000_000_000_000
            configuration.options.additionalStartupParameters = [("statement_timeout", "\(ms)")]
        }
        return configuration
    }
}

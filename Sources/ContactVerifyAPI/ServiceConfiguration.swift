import ContactVerifyCore
import ContactVerifyDelivery
import ContactVerifyStore
import Foundation
import Logging

/// Every setting of a running service. The CLI fills it from flags, `CONTACT_VERIFY_*`
/// environment variables and defaults (design §7); tests build it directly.
public struct ServiceConfiguration: Sendable {
    /// Where the API listens.
    public var host = "127.0.0.1"
    public var port = 8080
    /// SQLite database and file-transport output.
    public var dataDirectory = "./data"
    /// The shared PostgreSQL store; `nil` keeps the embedded SQLite database in the data folder.
    public var database: PostgresStoreConfiguration?
    /// Base of verification links; defaults to `http://host:port`. Never taken from a request.
    public var publicURL: String?
    /// Folder holding `openapi.yaml` and `templates/`; found automatically when `nil`.
    public var resourcesDirectory: String?
    /// Server secret as hex (≥ 32 bytes); read from ``secretKeyFile`` when `nil`.
    public var secretKeyHex: String?
    /// The file holding the server secret, created on first start when missing; `nil` is
    /// `secret.key` in the data folder. Instances on one PostgreSQL database must all name the
    /// same secret (this file, shared, or ``secretKeyHex``).
    public var secretKeyFile: String?
    public var logLevel: Logger.Level = .info
    /// The limits and lifetimes of design §4.
    public var policy = VerificationPolicy()
    /// Sender of emails (the file transport writes it into each `.eml`).
    public var mailFromName = "ContactVerify"
    public var mailFromAddress = "no-reply@localhost"
    /// Argon2 jobs that may run at once (default: one per core); more wait in a bounded queue.
    public var hashingConcurrency: Int?
    /// Argon2 parameters for code hashes (design §4: OWASP's m = 19 MiB, t = 2, p = 1).
    public var argon2 = Argon2Parameters.owasp
    /// The email transport; `nil` writes `.eml` files under the data folder.
    public var emailTransport: (any MessageTransport)?
    /// The SMS transport; `nil` appends to `sms.jsonl` under the data folder.
    public var smsTransport: (any MessageTransport)?
    /// The HTTP client of event callbacks; `nil` makes a libcurl one.
    public var httpClient: (any HTTPClient)?
    /// Messages per second this instance sends by email and by SMS (`nil`: unlimited); with
    /// several instances, give each its share of the provider's limit. Either way a provider's
    /// `429`/`503` `Retry-After` pauses its transport on every instance of the store
    /// (``PacedTransport``, ``SharedProviderPause``).
    public var emailRatePerSecond: Double?
    public var smsRatePerSecond: Double?
    /// Verifications a batch starts per second (pacing for gateways' rate limits).
    public var batchRatePerSecond = 50
    /// Seconds a claimed outbox message stays with the instance that claimed it; if that
    /// instance dies mid-send, another sends the message once the lease runs out.
    public var outboxLease: TimeInterval = 60
    /// Messages the outbox worker has under way at once, from claim to recorded outcome;
    /// `serve` sets it from the transports' connections (``OutboxWorker/window(connections:)``).
    public var outboxWindow = 64
    /// Seconds the slowest send may take (the transport's timeout plus the pacing wait). The
    /// worker starts no send whose secret would run out sooner, so a code never arrives
    /// already expired (security.md R-5, F11); `serve` sets it from the transports' settings.
    public var longestSend: TimeInterval = 0
    /// Seconds a request's unfinished `Idempotency-Key` claim answers `409` before a retry may
    /// run the request again (its process died before its commit; a claim whose request
    /// committed is answered from the created resource at once).
    public var idempotencyInFlightTimeout: TimeInterval = Idempotency.inFlightTimeout
    /// Whether chatbot webhooks and account callbacks may reach loopback and private
    /// addresses, and plain `http` (tests, on-premises); `false` refuses them (SSRF guard).
    public var allowPrivateWebhookTargets = false

    /// The guard for URLs customers supply (chatbot webhooks, callbacks).
    public var outboundTargetPolicy: OutboundTargetPolicy { OutboundTargetPolicy(allowPrivateTargets: allowPrivateWebhookTargets) }
    /// Whether the background workers (the outbox worker and the batch runner) run with the
    /// application. Tests turn them off and drive them one pass at a time with
    /// ``OutboxWorker/runOnce()`` and ``BatchService/runOnce(limit:)``.
    public var runWorker = true

    public init() {}

    /// The base URL of links, without a trailing slash.
    public var effectivePublicURL: String {
        var url = publicURL ?? "http://\(host):\(port)"
        while url.hasSuffix("/") { url.removeLast() }
        return url
    }

    /// Where the file transport writes messages when no SMTP server or gateway is configured.
    public var outboxDirectory: String { (dataDirectory as NSString).appendingPathComponent("outbox") }

    /// Where the generated server secret lives when none is configured.
    public var secretKeyPath: String { secretKeyFile ?? (dataDirectory as NSString).appendingPathComponent("secret.key") }

    /// Path of the SQLite database file.
    public var databasePath: String { (dataDirectory as NSString).appendingPathComponent("contact-verify.sqlite") }

    /// The folder with `openapi.yaml` and `templates/`: the configured one, else the first
    /// of the working directory and the executable's ancestors that has both.
    public func locateResources() throws -> String {
        if let resourcesDirectory { return resourcesDirectory }
        let fm = FileManager.default
        var candidates = [fm.currentDirectoryPath]
        var dir = URL(fileURLWithPath: CommandLine.arguments.first ?? ".").resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<6 {
            candidates.append(dir.path)
            dir = dir.deletingLastPathComponent()
        }
        for candidate in candidates {
            let base = URL(fileURLWithPath: candidate)
            if fm.fileExists(atPath: base.appendingPathComponent("openapi.yaml").path),
                fm.fileExists(atPath: base.appendingPathComponent("templates").path)
            {
                return candidate
            }
        }
        throw ConfigurationError("Cannot find openapi.yaml and templates/; set --resources-dir (CONTACT_VERIFY_RESOURCES_DIR).")
    }
}

extension ServiceConfiguration {
    /// Opens (and migrates) the configured store: PostgreSQL when ``database`` is set, else
    /// SQLite in the data folder.
    public func openStore(logger: Logger = Logger(label: "contact-verify.store")) async throws -> any ServiceStore {
        if let database {
            return try await PostgresStore(database, logger: logger)
        }
        try FileManager.default.createDirectory(atPath: dataDirectory, withIntermediateDirectories: true)
        return try SQLiteStore(path: databasePath)
    }
}

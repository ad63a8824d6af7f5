import ArgumentParser
import Foundation
import ContactVerifyAPI
import ContactVerifyCore
import Hummingbird
import Logging

/// `contact-verify serve`: runs the HTTP API (and, with it, the delivery worker).
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve", abstract: "Run the service until SIGTERM or SIGINT (graceful shutdown).")

    @OptionGroup var store: StoreOptions

    @Option(help: "Address the API listens on. (env: CONTACT_VERIFY_HOST; default: 127.0.0.1)")
    var host: String?

    @Option(help: "Port the API listens on. (env: CONTACT_VERIFY_PORT; default: 8080)")
    var port: Int?

    @Option(name: .customLong("public-url"), help: "Base URL of verification links; never taken from a request's Host. (env: CONTACT_VERIFY_PUBLIC_URL; default: http://<host>:<port>)")
    var publicURL: String?

    @Option(name: .customLong("secret-key"), help: "Server secret as 64+ hex digits, for code derivation, pepper and signing. (env: CONTACT_VERIFY_SECRET_KEY; default: generated once into <data-dir>/secret.key)")
    var secretKey: String?

    @Option(name: .customLong("secret-key-file"), help: "File holding the server secret, created on first start if missing; instances on one PostgreSQL database must share it (or --secret-key). (env: CONTACT_VERIFY_SECRET_KEY_FILE; default: <data-dir>/secret.key with SQLite, required with PostgreSQL)")
    var secretKeyFile: String?

    @Option(name: .customLong("resources-dir"), help: "Folder with openapi.yaml and templates/. (env: CONTACT_VERIFY_RESOURCES_DIR; default: found next to the working directory or the executable)")
    var resourcesDirectory: String?

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical. (env: CONTACT_VERIFY_LOG_LEVEL; default: info)")
    var logLevel: Logger.Level?

    @OptionGroup var limits: PolicyOptions

    @OptionGroup var transports: TransportOptions

    @Option(name: .customLong("hashing-concurrency"), help: "Argon2 jobs at once; more wait in a bounded queue, then get 503. (env: CONTACT_VERIFY_HASHING_CONCURRENCY; default: one per core)")
    var hashingConcurrency: Int?

    @Option(name: .customLong("batch-rate"), help: "Verifications a batch starts per second, to respect gateways' rate limits. (env: CONTACT_VERIFY_BATCH_RATE; default: 50)")
    var batchRate: Int?

    @Option(name: .customLong("outbox-lease"), help: "Seconds a claimed message stays with this instance; if it dies mid-send another instance sends the message after that. (env: CONTACT_VERIFY_OUTBOX_LEASE; default: 60)")
    var outboxLease: Int?

    @Option(name: .customLong("idempotency-timeout"), help: "Seconds an Idempotency-Key whose request never finished (its process died before the commit) answers 409 before a retry runs the request again. (env: CONTACT_VERIFY_IDEMPOTENCY_TIMEOUT; default: 60)")
    var idempotencyTimeout: Int?

    @Flag(name: .customLong("allow-private-webhook-targets"), help: "Let chatbot webhooks and account callbacks reach loopback and private addresses, and plain http (tests, on-premises). (env: CONTACT_VERIFY_ALLOW_PRIVATE_WEBHOOK_TARGETS; default: false)")
    var allowPrivateWebhookTargets = false

    func run() async throws {
        let settings = try store.settings()
        var configuration = ServiceConfiguration()
        try store.apply(settings, to: &configuration)
        configuration.host = settings.string("host", host) ?? configuration.host
        configuration.port = try settings.int("port", port) ?? configuration.port
        configuration.publicURL = settings.string("public-url", publicURL)
        configuration.secretKeyHex = settings.string("secret-key", secretKey)
        configuration.secretKeyFile = settings.string("secret-key-file", secretKeyFile)
        configuration.resourcesDirectory = settings.string("resources-dir", resourcesDirectory)
        if let level = logLevel ?? settings.string("log-level", nil).flatMap(Logger.Level.init(rawValue:)) {
            configuration.logLevel = level
        }
        configuration.policy = try limits.policy(settings)
        try transports.apply(settings, to: &configuration)
        configuration.hashingConcurrency = try settings.int("hashing-concurrency", hashingConcurrency)
        if let concurrency = configuration.hashingConcurrency, !(1...256).contains(concurrency) {
            throw ValidationError("--hashing-concurrency must be 1–256.")
        }
        if let rate = try settings.int("batch-rate", batchRate) {
            guard (1...100_000).contains(rate) else { throw ValidationError("--batch-rate must be 1–100000.") }
            configuration.batchRatePerSecond = rate
        }
        if let lease = try settings.int("outbox-lease", outboxLease) {
            guard (5...3600).contains(lease) else { throw ValidationError("--outbox-lease must be 5–3600 seconds.") }
            configuration.outboxLease = TimeInterval(lease)
        }
        if let seconds = try settings.int("idempotency-timeout", idempotencyTimeout) {
            guard (1...3600).contains(seconds) else { throw ValidationError("--idempotency-timeout must be 1–3600 seconds.") }
            configuration.idempotencyInFlightTimeout = TimeInterval(seconds)
        }
        let longestSend = try transports.longestSendSeconds(settings)
        guard configuration.outboxLease > TimeInterval(longestSend) else {
            throw ValidationError(
                "--outbox-lease (\(Int(configuration.outboxLease)) s) must be longer than the longest send (\(longestSend) s: the transport's timeout and pacing wait), or another instance could send a slow message again.")
        }
        // R-5 (security.md F11): a send as slow as the timeout allows must still leave the code
        // most of its life, and the worker starts no send that could end after the expiry.
        guard TimeInterval(longestSend) * 2 <= configuration.policy.codeLifetime else {
            throw ValidationError(
                "The longest send (\(longestSend) s: the transport's timeout and pacing wait) must be at most half of --code-lifetime (\(Int(configuration.policy.codeLifetime)) s), or codes could arrive expired or with no time left: lower --smtp-timeout or raise --code-lifetime.")
        }
        configuration.longestSend = TimeInterval(longestSend)
        configuration.allowPrivateWebhookTargets = try settings.bool("allow-private-webhook-targets", allowPrivateWebhookTargets)
        guard (0...65535).contains(configuration.port) else { throw ValidationError("--port must be 0–65535.") }
        let level = configuration.logLevel
        LoggingSystem.bootstrap { label in
            var handler = DeferredMetadataLogHandler(StreamLogHandler.standardError(label: label))
            handler.logLevel = level
            return handler
        }
        let built = try await buildApplication(configuration)
        try await built.application.runService()
    }
}

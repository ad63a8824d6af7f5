import ContactVerifyCore
import ContactVerifyDelivery
import ContactVerifyStore
import Foundation
import Hummingbird
import Logging
import NIOCore
import Prometheus

/// A built application and the services behind it (tests reach the store and the worker
/// through it).
public struct BuiltApplication: Sendable {
    /// The Hummingbird application: run it, or test it with HummingbirdTesting.
    public let application: Application<RouterResponder<AppRequestContext>>
    /// The store the application uses.
    public let store: any ServiceStore
    /// The outbox worker. It runs with the application unless
    /// ``ServiceConfiguration/runWorker`` is off; then tests drive it with `runOnce()`.
    public let worker: OutboxWorker
    /// The event worker; tests drive it with `runOnce()` when the background workers are off.
    public let events: EventWorker
    /// The batch service; tests drive it with `runOnce(limit:)` when the background runners are off.
    public let batches: BatchService
    /// Re-derives the secrets messages carry (tests read codes through it, as a recipient would).
    public let secrets: VerificationSecrets
}

/// The one composition root: every choice (store, clock, services, routes) is made here, for
/// the executable and the tests alike.
public func buildApplication(
    _ configuration: ServiceConfiguration, clock: any WallClock = SystemWallClock(), logger: Logger? = nil
) async throws -> BuiltApplication {
    let logger = logger ?? Logger(label: "contact-verify")
    let resources = try configuration.locateResources()
    let openAPI = try Data(contentsOf: URL(fileURLWithPath: resources).appendingPathComponent("openapi.yaml"))
    let templates = try TemplateLibrary(directory: URL(fileURLWithPath: resources).appendingPathComponent("templates").path)
    try FileManager.default.createDirectory(atPath: configuration.dataDirectory, withIntermediateDirectories: true)
    let secret = try loadSecret(configuration)
    logger.info("Server secret loaded", metadata: ["secret.fingerprint": .string(secret.fingerprint)])
    let store = try await configuration.openStore(logger: logger)
    let registry = PrometheusCollectorRegistry()
    let metricsFactory = PrometheusMetricsFactory(registry: registry)

    let reports = DeliveryReportReference(secret: secret)
    let secrets = VerificationSecrets(secret: secret, codeDigits: configuration.policy.codeDigits)
    let files = FileTransport(
        directory: configuration.outboxDirectory, fromName: configuration.mailFromName, fromAddress: configuration.mailFromAddress)
    // A provider's pause holds on every instance of the store (F15); the rate is this instance's.
    let paced = { (transport: any MessageTransport, rate: Double?) in
        PacedTransport(
            transport, ratePerSecond: rate,
            sharedPause: SharedProviderPause(provider: transport.providerName, store: store, logger: logger))
    }
    let worker = OutboxWorker(
        store: store, secrets: secrets, transports: Transports(
            email: paced(configuration.emailTransport ?? files, configuration.emailRatePerSecond),
            sms: paced(configuration.smsTransport ?? files, configuration.smsRatePerSecond)), templates: templates, clock: clock,
        publicURL: configuration.effectivePublicURL, reports: reports, batchSize: configuration.outboxWindow, lease: configuration.outboxLease,
        sendAllowance: configuration.longestSend, logger: logger,
        metrics: metricsFactory)
    let verifications = VerificationService(
        store: store, clock: clock, policy: configuration.policy, secret: secret,
        pool: HashingPool(maxConcurrent: configuration.hashingConcurrency ?? ProcessInfo.processInfo.activeProcessorCount),
        argon2: configuration.argon2, resolveLocale: templates.locale(for:), onEnqueue: worker.notify,
        metrics: metricsFactory)
    let httpClient = configuration.httpClient ?? CurlHTTPClient()
    let events = EventWorker(
        store: store, client: httpClient, clock: clock, targetPolicy: configuration.outboundTargetPolicy, logger: logger,
        metrics: metricsFactory)
    store.onEventsQueued(events.notify)
    let sealer = WebhookSealer(secret: secret)
    let webhookTester = WebhookTester(
        store: store, client: httpClient, sealer: sealer, policy: configuration.outboundTargetPolicy, clock: clock, logger: logger)
    let batches = BatchService(store: store, verifications: verifications, clock: clock)
    let batchRunner = BatchRunner(batches: batches, ratePerSecond: configuration.batchRatePerSecond, logger: logger)
    let services = AppServices(
        configuration: configuration, store: store, clock: clock, contacts: ContactService(
            store: store, clock: clock, webhooks: WebhookListRules(policy: configuration.outboundTargetPolicy, sealer: sealer)),
        webhookTester: webhookTester,
        verifications: verifications, batches: batches, onBatchCreated: batchRunner.notify, templates: templates, links: LinkPageNonce(secret: secret), reports: reports,
        runningWorker: configuration.runWorker ? worker : nil,
        metrics: registry, metricsFactory: metricsFactory, openAPIDocument: ByteBuffer(bytes: openAPI))

    let router = Router(context: AppRequestContext.self)
    router.add(middleware: RequestLogMiddleware())
    router.add(middleware: MetricsMiddleware(factory: services.metricsFactory))
    router.add(middleware: ProblemMiddleware())
    OperationsController(services: services).register(on: router)
    LinksController(services: services).register(on: router)
    DeliveryReportsController(services: services).register(on: router)
    let v1 = router.group("v1").add(middleware: AuthMiddleware(store: store))
    AccountsController(services: services).register(on: v1)
    ContactsController(services: services).register(on: v1)
    VerificationsController(services: services).register(on: v1)
    BatchesController(services: services).register(on: v1)
    WebhooksController(services: services).register(on: v1)

    let application = Application(
        router: router,
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "contact-verify"),
        services: configuration.runWorker ? [worker, batchRunner, events] : [],
        logger: logger)
    return BuiltApplication(application: application, store: store, worker: worker, events: events, batches: batches, secrets: secrets)
}

/// The configured server secret, or the one generated once into the data folder.
private func loadSecret(_ configuration: ServiceConfiguration) throws -> ServerSecret {
    if let hex = configuration.secretKeyHex {
        guard let secret = ServerSecret(hex: hex), secret.byteCount >= ServerSecret.minimumByteCount else {
            throw ConfigurationError("The secret key must be at least \(ServerSecret.minimumByteCount * 2) hex digits.")
        }
        return secret
    }
    // Every instance on one database must derive and check codes, links and keys alike.
    guard configuration.database == nil || configuration.secretKeyFile != nil else {
        throw ConfigurationError(
            "With a PostgreSQL store every instance must share one server secret: set --secret-key or --secret-key-file.")
    }
    do {
        return try ServerSecret.loadOrCreate(at: configuration.secretKeyPath)
    } catch {
        throw ConfigurationError("Cannot load the server secret: \(error)")
    }
}

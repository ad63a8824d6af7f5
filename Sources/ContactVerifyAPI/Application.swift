import ContactVerifyCore
import ContactVerifyStore
import Foundation
import Hummingbird
import Logging
import NIOCore
import Prometheus

/// A built application and the services behind it (tests reach the store through it).
public struct BuiltApplication: Sendable {
    /// The Hummingbird application: run it, or test it with HummingbirdTesting.
    public let application: Application<RouterResponder<AppRequestContext>>
    /// The store the application uses.
    public let store: any Store
}

/// The one composition root: every choice (store, clock, services, routes) is made here, for
/// the executable and the tests alike.
public func buildApplication(
    _ configuration: ServiceConfiguration, clock: any WallClock = SystemWallClock(), logger: Logger? = nil
) async throws -> BuiltApplication {
    let logger = logger ?? Logger(label: "contact-verify")
    let resources = try configuration.locateResources()
    let openAPI = try Data(contentsOf: URL(fileURLWithPath: resources).appendingPathComponent("openapi.yaml"))
    try FileManager.default.createDirectory(atPath: configuration.dataDirectory, withIntermediateDirectories: true)
    let store = try SQLiteStore(path: configuration.databasePath)
    let registry = PrometheusCollectorRegistry()
    let services = AppServices(
        configuration: configuration, store: store, clock: clock, contacts: ContactService(store: store, clock: clock),
        metrics: registry, metricsFactory: PrometheusMetricsFactory(registry: registry),
        openAPIDocument: ByteBuffer(bytes: openAPI))

    let router = Router(context: AppRequestContext.self)
    router.add(middleware: RequestLogMiddleware())
    router.add(middleware: MetricsMiddleware(factory: services.metricsFactory))
    router.add(middleware: ProblemMiddleware())
    OperationsController(services: services).register(on: router)
    let v1 = router.group("v1").add(middleware: AuthMiddleware(store: store))
    AccountsController(services: services).register(on: v1)
    ContactsController(services: services).register(on: v1)

    let application = Application(
        router: router,
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "contact-verify"),
        logger: logger)
    return BuiltApplication(application: application, store: store)
}

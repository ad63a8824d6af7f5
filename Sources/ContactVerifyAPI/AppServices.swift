import ContactVerifyCore
import ContactVerifyDelivery
import ContactVerifyStore
import Foundation
import Hummingbird
import Logging
import Metrics
import NIOCore
import Prometheus

/// What the controllers share: the store, the clock, the domain services and the metrics.
struct AppServices: Sendable {
    let configuration: ServiceConfiguration
    let store: any ServiceStore
    let clock: any WallClock
    let contacts: ContactService
    /// "Send Test" for chatbot webhooks.
    let webhookTester: WebhookTester
    let verifications: VerificationService
    let batches: BatchService
    /// Wakes the batch runner.
    let onBatchCreated: @Sendable () -> Void
    let templates: TemplateLibrary
    let links: LinkPageNonce
    let reports: DeliveryReportReference
    /// The outbox worker when it runs with the application (readiness watches it).
    let runningWorker: OutboxWorker?
    let metrics: PrometheusCollectorRegistry
    let metricsFactory: PrometheusMetricsFactory
    let openAPIDocument: ByteBuffer

    /// The account `id`, if the caller may see it; otherwise the same `404` as a missing one.
    func account(_ id: String, for context: AppRequestContext) async throws -> Account {
        try context.requireAccess(to: id)
        guard let account = try await store.account(id: id) else { throw ServiceError.notFound("account") }
        return account
    }

    /// A JSON response.
    func json(_ value: JSONValue, status: HTTPResponse.Status = .ok) throws -> Response {
        jsonReply(value, status: status).response
    }
}

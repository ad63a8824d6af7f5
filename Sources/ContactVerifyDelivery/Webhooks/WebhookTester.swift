import ContactVerifyCore
import Foundation
import Logging

/// "Send Test" for a contact's chatbot webhook (design §3): opens the sealed URL and secret,
/// takes a slot of the robot's rate limit from the shared send log (DingTalk and WeCom: 20 a
/// minute per robot; `429` with `Retry-After` beyond), sends one signed test message with a
/// 5-second limit, no redirects and only to permitted addresses, and records the outcome on
/// the webhook: `verified` when the provider says success, else `not_verified` with its code
/// and message.
///
/// The text starts with "ContactVerify", so a DingTalk robot with keyword security accepts it
/// when that keyword is configured.
public struct WebhookTester: Sendable {
    let store: any Store & WebhookSendStore
    let client: any HTTPClient
    let sealer: WebhookSealer
    let policy: OutboundTargetPolicy
    let clock: any WallClock
    let timeout: Duration
    let logger: Logger

    public init(
        store: any Store & WebhookSendStore, client: any HTTPClient, sealer: WebhookSealer, policy: OutboundTargetPolicy,
        clock: any WallClock, timeout: Duration = .seconds(5), logger: Logger
    ) {
        self.store = store
        self.client = client
        self.sealer = sealer
        self.policy = policy
        self.clock = clock
        self.timeout = timeout
        self.logger = logger
    }

    /// Tests one webhook; returns the outcome and the contact as saved afterwards.
    ///
    /// - Throws: `not_found` for a missing contact or webhook, `429 webhook_rate_limited`
    ///   with `retryAfter` when the robot's limit is reached, `409 webhook_unreadable` when
    ///   the stored credentials were sealed under another server secret.
    public func test(accountID: String, contactID: String, webhookID: String) async throws -> (result: WebhookTestResult, contact: Contact) {
        guard let contact = try await store.contact(accountID: accountID, id: contactID) else { throw ServiceError.notFound("contact") }
        guard let webhook = contact.webhooks.first(where: { $0.id == webhookID }) else { throw ServiceError.notFound("webhook") }
        guard let url = sealer.open(webhook.sealedURL, webhookID: webhook.id, field: .url) else { throw ServiceError.webhookUnreadable }
        var secret: String?
        if let sealed = webhook.sealedSecret {
            guard let opened = sealer.open(sealed, webhookID: webhook.id, field: .secret) else { throw ServiceError.webhookUnreadable }
            secret = opened
        }
        let now = clock.now()
        if let limit = webhook.kind.rateLimit,
            let next = try await store.reserveWebhookSend(robotKey: webhook.urlKey, limit: limit.count, window: limit.window, now: now)
        {
            throw ServiceError.webhookRateLimited(retryAfter: max(1, Int(next.timeIntervalSince(now).rounded(.up))), limit: limit.count)
        }
        let message = ChatbotTestMessage(
            kind: webhook.kind, url: url, secret: secret, text: "ContactVerify: test message for the webhook “\(webhook.name)”.",
            messageID: RandomID.make(prefix: "msg_"), contactID: contact.id, webhookID: webhook.id)
        let result: WebhookTestResult
        do {
            result = WebhookTestResult.reading(try await client.send(message.request(now: now, timeout: timeout, policy: policy)), kind: webhook.kind)
        } catch {
            result = WebhookTestResult.failure(error)
        }
        logger.debug(
            "Webhook tested",
            metadata: [
                "webhook.id": .string(webhook.id), "webhook.kind": .string(webhook.kind.rawValue), "webhook.target": .string(webhook.maskedURL),
                "outcome": .string(result.verified ? "verified" : "failed"), "provider.code": .string(result.providerCode ?? ""),
            ])
        let tested = webhook
        let saved = try await store.updateContact(accountID: accountID, id: contactID, now: clock.now()) { contact in
            // Only the webhook that was tested: not one whose URL or secret changed meanwhile.
            guard let index = contact.webhooks.firstIndex(where: {
                $0.id == tested.id && $0.kind == tested.kind && $0.urlKey == tested.urlKey && $0.sealedSecret == tested.sealedSecret
            }) else { return }
            contact.webhooks[index].status = result.verified ? .verified : .notVerified
            contact.webhooks[index].verifiedAt = result.verified ? now : nil
            contact.webhooks[index].testedAt = now
            contact.webhooks[index].lastProviderCode = result.providerCode
            contact.webhooks[index].lastMessage = result.message
        }
        return (result, saved)
    }
}

extension ServiceError {
    /// The robot's rate limit is reached; retry after `retryAfter` seconds.
    public static func webhookRateLimited(retryAfter: Int, limit: Int) -> ServiceError {
        ServiceError(
            .tooManyRequests, code: "webhook_rate_limited",
            detail: "This robot accepts \(limit) messages a minute; try again in \(retryAfter) seconds.",
            errors: [FieldError(field: "webhookId", code: "rate_limited", message: "The robot's message limit is reached.")],
            retryAfter: retryAfter)
    }

    /// The stored webhook was sealed under another server secret: enter its URL again.
    public static let webhookUnreadable = ServiceError(
        .conflict, code: "webhook_unreadable", detail: "The webhook's stored URL or secret cannot be read with this server secret; set its URL again.",
        errors: [FieldError(field: "webhookId", code: "unreadable", message: "Set the webhook's URL and secret again.")])
}

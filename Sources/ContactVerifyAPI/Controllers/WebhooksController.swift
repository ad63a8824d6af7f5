import ContactVerifyCore
import ContactVerifyDelivery
import Hummingbird

/// `POST /v1/accounts/{a}/contacts/{id}/webhooks/{wid}/test`: "Send Test" to one of a
/// contact's chatbot webhooks (``WebhookTester``).
struct WebhooksController {
    let services: AppServices

    func register(on group: RouterGroup<AppRequestContext>) {
        group.post("accounts/{accountId}/contacts/{contactId}/webhooks/{webhookId}/test", use: test)
    }

    @Sendable func test(_ request: Request, context: AppRequestContext) async throws -> Response {
        let account = try await services.account(context.parameters.path("accountId"), for: context)
        var request = request
        var body = try await request.jsonObject(context: context, allowEmpty: true)
        try body.finish()
        let webhookID = context.parameters.path("webhookId")
        let (result, contact) = try await services.webhookTester.test(
            accountID: account.id, contactID: context.parameters.path("contactId"), webhookID: webhookID)
        return try services.json(
            .object([
                "status": .string(result.verified ? "verified" : "failed"),
                "providerCode": .nullable(result.providerCode),
                "message": .string(result.message),
                "webhook": contact.webhooks.first { $0.id == webhookID }.map(Representation.webhook) ?? .null,
            ]))
    }
}

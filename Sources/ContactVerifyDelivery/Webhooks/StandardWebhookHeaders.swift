import ContactVerifyCore

/// The Standard Webhooks headers of one delivery (protocols.md c10), for account events and
/// custom chatbot webhooks alike: `webhook-id`, `webhook-timestamp` and, when there is a
/// secret, `webhook-signature` (``WebhookSigner``).
enum StandardWebhookHeaders {
    static func make(id: String, timestamp: Int64, body: [UInt8], secret: String?) -> [HTTPHeader] {
        var headers = [HTTPHeader("webhook-id", id), HTTPHeader("webhook-timestamp", String(timestamp))]
        if let secret {
            headers.append(HTTPHeader("webhook-signature", WebhookSigner(anySecret: secret).signature(id: id, timestamp: timestamp, body: body)))
        }
        return headers
    }
}

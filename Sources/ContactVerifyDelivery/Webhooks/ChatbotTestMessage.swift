import ContactVerifyCore
import Foundation

/// The "Send Test" request for one webhook, signed the provider's way (protocols.md c7–c10):
/// DingTalk adds `timestamp` (ms) and `sign` to the query; Lark puts `timestamp` (s) and
/// `sign` in the body; WeCom's key is already in the URL; a custom receiver gets a Standard
/// Webhooks signature. Bodies are the providers' plain `text` messages.
public struct ChatbotTestMessage: Sendable {
    public var kind: WebhookKind
    /// The full webhook URL (a credential).
    public var url: String
    public var secret: String?
    /// The message text.
    public var text: String
    /// For custom receivers: the `webhook-id` and the payload's ids.
    public var messageID: String
    public var contactID: String
    public var webhookID: String

    public init(
        kind: WebhookKind, url: String, secret: String?, text: String, messageID: String, contactID: String, webhookID: String
    ) {
        self.kind = kind
        self.url = url
        self.secret = secret
        self.text = text
        self.messageID = messageID
        self.contactID = contactID
        self.webhookID = webhookID
    }

    /// The HTTP request at `now`, limited to `timeout`, under the target policy.
    public func request(now: Date, timeout: Duration, policy: OutboundTargetPolicy) -> OutboundHTTPRequest {
        let milliseconds = Int64((now.timeIntervalSince1970 * 1000).rounded(.down))
        let seconds = milliseconds / 1000
        var url = self.url
        var headers = [HTTPHeader("Content-Type", "application/json; charset=utf-8")]
        let body: JSONValue
        switch kind {
        case .dingtalk:
            if let secret {
                let sign = ChatbotSignature.dingTalkQueryValue(ChatbotSignature.dingTalk(secret: secret, timestampMilliseconds: milliseconds))
                url += (url.contains("?") ? "&" : "?") + "timestamp=\(milliseconds)&sign=\(sign)"
            }
            body = .object(["msgtype": .string("text"), "text": .object(["content": .string(text)])])
        case .wecom:
            body = .object(["msgtype": .string("text"), "text": .object(["content": .string(text)])])
        case .lark:
            var object: JSONObject = [:]
            if let secret {
                _ = object.insert(.string(String(seconds)), forKey: "timestamp")
                _ = object.insert(.string(ChatbotSignature.lark(secret: secret, timestampSeconds: seconds)), forKey: "sign")
            }
            _ = object.insert(.string("text"), forKey: "msg_type")
            _ = object.insert(.object(["text": .string(text)]), forKey: "content")
            body = .object(object)
        case .custom:
            headers = [HTTPHeader("Content-Type", "application/json")]
            body = .object([
                "type": .string("webhook.test"),
                "timestamp": .number(String(seconds)),
                "data": .object(["contactId": .string(contactID), "webhookId": .string(webhookID), "text": .string(text)]),
            ])
        }
        let bytes = JSONWriter.serialize(body)
        if kind == .custom {
            headers += StandardWebhookHeaders.make(id: messageID, timestamp: seconds, body: bytes, secret: secret)
        }
        return OutboundHTTPRequest(method: "POST", url: url, headers: headers, body: bytes, timeout: timeout, targetPolicy: policy)
    }
}

import Crypto
import Foundation

/// Signs outbound events the Standard Webhooks way (protocols.md c10): headers `webhook-id`,
/// `webhook-timestamp` (epoch seconds) and `webhook-signature: v1,<base64 HMAC-SHA256(key,
/// id + "." + timestamp + "." + body)>`, where the key is the base64 part of a `whsec_…` secret.
public struct WebhookSigner: Sendable {
    // Raw key bytes: `SymmetricKey` is not `Sendable` in swift-crypto 3 on Linux.
    private let key: [UInt8]

    /// A signer for `secret` (`whsec_<base64>`, or `v1,whsec_<base64>` as Supabase writes it);
    /// `nil` if it is not in that form.
    public init?(secret: String) {
        var text = Substring(secret)
        if text.hasPrefix("v1,") { text = text.dropFirst(3) }
        guard text.hasPrefix("whsec_"), let key = Data(base64Encoded: String(text.dropFirst(6))), !key.isEmpty else { return nil }
        self.key = Array(key)
    }

    /// A signer keyed with raw bytes (for a callback secret that is not in `whsec_` form).
    public init(key: [UInt8]) {
        self.key = key
    }

    /// A signer for a secret a customer chose: the key of a `whsec_…` secret, else the
    /// secret's UTF-8 bytes.
    public init(anySecret secret: String) {
        self = WebhookSigner(secret: secret) ?? WebhookSigner(key: Array(secret.utf8))
    }

    /// The `webhook-signature` value for one delivery.
    public func signature(id: String, timestamp: Int64, body: [UInt8]) -> String {
        var message = Array("\(id).\(timestamp).".utf8)
        message += body
        let mac = HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: key))
        return "v1," + Data(mac).base64EncodedString()
    }

    /// The three headers of one delivery.
    public func headers(id: String, timestamp: Int64, body: [UInt8]) -> [(name: String, value: String)] {
        [("webhook-id", id), ("webhook-timestamp", String(timestamp)), ("webhook-signature", signature(id: id, timestamp: timestamp, body: body))]
    }
}

import Crypto
import Foundation

/// Keeps chatbot webhook URLs and secrets out of the database in plaintext: AES-256-GCM
/// under a subkey of the server secret, bound to the webhook id and the field, so a sealed
/// value copied to another row or field does not open. URLs also get a keyed hash
/// (HMAC-SHA256 under another subkey) that the stores compare for uniqueness and rate limits.
///
/// A database dump alone reveals neither; the server secret opens both (a changed secret
/// makes stored webhooks unreadable: they must be entered again).
///
/// ```swift
/// let sealer = WebhookSealer(secret: secret)
/// let sealed = sealer.seal("https://oapi.dingtalk.com/robot/send?access_token=…", webhookID: id, field: .url)
/// let url = sealer.open(sealed, webhookID: id, field: .url)
/// ```
public struct WebhookSealer: Sendable {
    /// Which value of the webhook is sealed (part of the authenticated data).
    public enum Field: String, Sendable {
        case url, secret
    }

    // Raw key bytes: `SymmetricKey` is not `Sendable` in swift-crypto 3 on Linux.
    private let sealKey: [UInt8]
    private let hashKey: [UInt8]

    public init(secret: ServerSecret) {
        sealKey = secret.subkey("webhook-seal").withUnsafeBytes { Array($0) }
        hashKey = secret.subkey("webhook-url-key").withUnsafeBytes { Array($0) }
    }

    /// `text` sealed: nonce, ciphertext and tag in one byte string.
    public func seal(_ text: String, webhookID: String, field: Field) -> [UInt8] {
        do {
            let box = try AES.GCM.seal(
                Array(text.utf8), using: SymmetricKey(data: sealKey), authenticating: Self.context(webhookID, field))
            guard let combined = box.combined else { preconditionFailure("AES-GCM with the default nonce always combines") }
            return Array(combined)
        } catch {
            preconditionFailure("AES-GCM sealing with a 256-bit key cannot fail: \(error)")
        }
    }

    /// The text of a sealed value, or `nil` if it was not sealed for this webhook and field
    /// with this server secret.
    public func open(_ sealed: [UInt8], webhookID: String, field: Field) -> String? {
        guard let box = try? AES.GCM.SealedBox(combined: sealed),
            let plain = try? AES.GCM.open(box, using: SymmetricKey(data: sealKey), authenticating: Self.context(webhookID, field))
        else { return nil }
        return String(bytes: plain, encoding: .utf8)
    }

    /// The keyed hash of a URL (the same URL always gives the same key).
    public func urlKey(_ url: String) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: Array(url.utf8), using: SymmetricKey(data: hashKey)))
    }

    private static func context(_ webhookID: String, _ field: Field) -> [UInt8] {
        Array("\(webhookID)/\(field.rawValue)".utf8)
    }
}

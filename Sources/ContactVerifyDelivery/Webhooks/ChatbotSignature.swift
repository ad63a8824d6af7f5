import Crypto
import Foundation

/// The signatures of the chatbot robots (protocols.md c7, c8). Their key and message are
/// arranged differently, so each has its own function and test vector.
public enum ChatbotSignature {
    /// DingTalk: `base64(HMAC-SHA256(key: secret, message: timestamp + "\n" + secret))`, with
    /// the timestamp in epoch **milliseconds**. Goes into the query percent-encoded
    /// (``dingTalkQueryValue(_:)``).
    public static func dingTalk(secret: String, timestampMilliseconds: Int64) -> String {
        let mac = HMAC<SHA256>.authenticationCode(
            for: Array("\(timestampMilliseconds)\n\(secret)".utf8), using: SymmetricKey(data: Array(secret.utf8)))
        return Data(mac).base64EncodedString()
    }

    /// A base64 signature as a query value: `+`, `/` and `=` percent-encoded.
    public static func dingTalkQueryValue(_ signature: String) -> String {
        signature.replacingOccurrences(of: "+", with: "%2B").replacingOccurrences(of: "/", with: "%2F")
            .replacingOccurrences(of: "=", with: "%3D")
    }

    /// Lark / Feishu: `base64(HMAC-SHA256(key: timestamp + "\n" + secret, message: empty))`,
    /// with the timestamp in epoch **seconds**; sent in the JSON body, not URL-encoded.
    public static func lark(secret: String, timestampSeconds: Int64) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: [UInt8](), using: SymmetricKey(data: Array("\(timestampSeconds)\n\(secret)".utf8)))
        return Data(mac).base64EncodedString()
    }
}

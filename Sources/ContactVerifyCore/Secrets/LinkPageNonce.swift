import Crypto
import Foundation

/// The anti-forgery `nonce` field of the confirmation form on `GET /verify/{token}`.
///
/// A nonce is `<issued-at seconds>.<base64url HMAC-SHA256(token, issued-at)>` under a subkey
/// of the server secret: stateless, bound to one token, and valid for a limited time. A form
/// post without a nonce this service issued for that token does not confirm anything; it
/// gets the confirmation page again.
public struct LinkPageNonce: Sendable {
    // Raw key bytes: `SymmetricKey` is not `Sendable` in swift-crypto 3 on Linux.
    private let key: [UInt8]
    /// How long a rendered page's form stays valid.
    public let lifetime: TimeInterval

    public init(secret: ServerSecret, lifetime: TimeInterval = 24 * 60 * 60) {
        key = secret.subkey("link-page-nonce").withUnsafeBytes { Array($0) }
        self.lifetime = lifetime
    }

    /// A nonce for a page showing `token`, issued at `now`.
    public func issue(token: String, now: Date) -> String {
        let issued = Int64(now.timeIntervalSince1970)
        return "\(issued)." + Base64URL.encode(mac(token: token, issued: issued))
    }

    /// Whether `nonce` was issued for `token` within the lifetime (a minute of clock skew allowed).
    public func isValid(_ nonce: String, token: String, now: Date) -> Bool {
        let parts = nonce.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0].utf8.count <= 12, let issued = Int64(parts[0]),
            let tag = Base64URL.decode(String(parts[1]))
        else { return false }
        let age = now.timeIntervalSince1970 - Double(issued)
        guard age >= -60, age <= lifetime else { return false }
        return ConstantTime.equals(tag, mac(token: token, issued: issued))
    }

    private func mac(token: String, issued: Int64) -> [UInt8] {
        var message = Array(token.utf8)
        message.append(0)
        message += Array(String(issued).utf8)
        return Array(HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: key)))
    }
}

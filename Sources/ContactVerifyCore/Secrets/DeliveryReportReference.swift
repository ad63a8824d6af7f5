import Crypto

/// The unguessable reference in a message's delivery-report URL: `<message id>.<tag>`, where
/// the tag is a truncated HMAC-SHA256 of the id under a subkey of the server secret. Gateways
/// call the URL back; only a URL this service issued names a message.
public struct DeliveryReportReference: Sendable {
    // Raw key bytes: `SymmetricKey` is not `Sendable` in swift-crypto 3 on Linux.
    private let key: [UInt8]
    /// Bytes of the HMAC kept in a reference (128 bits).
    static let tagByteCount = 16

    public init(secret: ServerSecret) {
        key = secret.subkey("delivery-report").withUnsafeBytes { Array($0) }
    }

    /// The reference for `messageID`.
    public func make(messageID: String) -> String {
        messageID + "." + Base64URL.encode(tag(messageID))
    }

    /// The message id a reference names, or `nil` if this service did not issue it.
    public func messageID(from reference: String) -> String? {
        guard reference.utf8.count <= 128, let dot = reference.lastIndex(of: ".") else { return nil }
        let id = String(reference[..<dot])
        guard let tag = Base64URL.decode(String(reference[reference.index(after: dot)...])),
            ConstantTime.equals(tag, self.tag(id))
        else { return nil }
        return id
    }

    private func tag(_ messageID: String) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: Array(messageID.utf8), using: SymmetricKey(data: key)).prefix(Self.tagByteCount))
    }
}

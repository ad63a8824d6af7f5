import Crypto
import Foundation

/// A bearer credential. Only the SHA-256 of the secret is stored; the secret is shown once.
public struct APIKey: Sendable, Equatable {
    /// Public identifier (`key_…`), safe to log.
    public var id: String
    /// The account the key is scoped to; `nil` for admin keys.
    public var accountID: String?
    public var isAdmin: Bool
    public var name: String?
    /// SHA-256 of the secret's UTF-8 bytes.
    public var secretHash: [UInt8]
    public var createdAt: Date
    public var revokedAt: Date?

    public init(
        id: String, accountID: String?, isAdmin: Bool, name: String?, secretHash: [UInt8],
        createdAt: Date, revokedAt: Date? = nil
    ) {
        self.id = id
        self.accountID = accountID
        self.isAdmin = isAdmin
        self.name = name
        self.secretHash = secretHash
        self.createdAt = createdAt
        self.revokedAt = revokedAt
    }

    /// Makes a new key: returns the record to store and the secret to show once.
    ///
    /// The secret is `cvk_` followed by 256 random bits in base64url, so a fast hash is
    /// enough to store it (NIST 800-63B: secrets of ≥ 112 bits may use an approved hash).
    public static func generate(accountID: String?, isAdmin: Bool, name: String?, now: Date) -> (key: APIKey, secret: String) {
        let secret = "cvk_" + RandomID.base64URL(byteCount: 32)
        let key = APIKey(
            id: RandomID.make(prefix: "key_"), accountID: accountID, isAdmin: isAdmin, name: name,
            secretHash: hash(secret: secret), createdAt: now)
        return (key, secret)
    }

    /// The stored form of a presented secret.
    public static func hash(secret: String) -> [UInt8] {
        Array(SHA256.hash(data: Array(secret.utf8)))
    }
}

import Crypto

/// Derives a verification's code and link token from the server secret and the verification's
/// random nonce, so that nothing secret is stored in plaintext and a resend or a retried delivery
/// carries exactly the same code or link (design.md §4).
///
/// - code = HMAC-SHA256(`subkey("code")`, nonce): the first 8 bytes as a big-endian `UInt64`,
///   reduced mod 10^digits and zero-padded (HOTP-style truncation, RFC 4226, but over 64 bits, so
///   the modulo bias is below 10^10 / 2^64 ≈ 5·10⁻¹⁰).
/// - link token = base64url without padding of HMAC-SHA256(`subkey("link")`, nonce): 256 bits,
///   43 characters.
///
/// Store the nonce (it is useless without the server secret), the argon2id hash of the code
/// (``CodeHasher``) and ``tokenLookupKey(_:)`` of the token; never the code or token.
public struct SecretDeriver: Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// The number of random bytes in a nonce from ``randomNonce()``.
    public static let nonceByteCount = 32
    /// The code lengths ``code(nonce:digits:)`` accepts.
    public static let digitRange: ClosedRange<Int> = 4...10
    /// The length of every token from ``linkToken(nonce:)``.
    public static let linkTokenLength = 43

    // Raw key bytes: `SymmetricKey` is not `Sendable` in swift-crypto 3 on Linux.
    private let codeKey: [UInt8]
    private let linkKey: [UInt8]

    /// A deriver keyed with `secret`'s `"code"` and `"link"` subkeys.
    public init(secret: ServerSecret) {
        self.codeKey = secret.subkey("code").withUnsafeBytes { Array($0) }
        self.linkKey = secret.subkey("link").withUnsafeBytes { Array($0) }
    }

    /// A fresh 32-byte nonce for a new verification, from the system CSPRNG
    /// (`SystemRandomNumberGenerator`, security.md S-2).
    public static func randomNonce() -> [UInt8] {
        ServerSecret.randomBytes(count: nonceByteCount)
    }

    /// The verification code for `nonce`: `digits` decimal digits, leading zeros kept.
    ///
    /// The same nonce and secret always give the same code; every code of the given length is
    /// (to within 5·10⁻¹⁰) equally likely.
    ///
    /// - Precondition: `digits` is in ``digitRange`` (4…10).
    public func code(nonce: [UInt8], digits: Int) -> String {
        precondition(Self.digitRange.contains(digits), "code length must be 4…10 digits")
        let mac = HMAC<SHA256>.authenticationCode(for: nonce, using: SymmetricKey(data: codeKey))
        let value = mac.withUnsafeBytes { bytes in
            bytes.prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        }
        var modulus: UInt64 = 1
        for _ in 0..<digits { modulus *= 10 }
        let number = String(value % modulus)
        return String(repeating: "0", count: digits - number.count) + number
    }

    /// The link token for `nonce`: 43 base64url characters (`A–Z a–z 0–9 - _`, no padding)
    /// carrying 256 bits. The same nonce and secret always give the same token.
    public func linkToken(nonce: [UInt8]) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: nonce, using: SymmetricKey(data: linkKey))
        return mac.withUnsafeBytes { UnpaddedBase64.encode($0, alphabet: .url) }
    }

    /// The key under which a link token is stored and looked up: SHA-256 of the token's UTF-8
    /// (32 bytes). A fast hash is enough for a 256-bit secret (security.md S-10), and it is
    /// deterministic, so the column can be indexed.
    public static func tokenLookupKey(_ token: String) -> [UInt8] {
        Array(SHA256.hash(data: Array(token.utf8)))
    }

    /// `SecretDeriver(redacted)`: the keys are never printed.
    public var description: String { "SecretDeriver(redacted)" }

    /// The same as ``description``.
    public var debugDescription: String { description }

    /// A mirror without children, so `dump` and reflection do not reveal the keys.
    public var customMirror: Mirror { Mirror(self, children: [], displayStyle: .struct) }
}

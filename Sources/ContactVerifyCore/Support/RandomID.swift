/// Random identifiers and secrets from the system CSPRNG.
public enum RandomID {
    private static let alphabet = Array("0123456789abcdefghijkmnpqrstvwxyz".utf8)  // 32 symbols, no l/o/u

    /// `prefix` followed by 120 random bits in lower-case base32 (24 characters).
    public static func make(prefix: String) -> String {
        var generator = SystemRandomNumberGenerator()
        var out = Array(prefix.utf8)
        out.reserveCapacity(out.count + 24)
        for _ in 0..<24 { out.append(alphabet[Int(generator.next(upperBound: UInt8(32)))]) }
        return String(decoding: out, as: UTF8.self)
    }

    /// `byteCount` random bytes.
    public static func bytes(_ byteCount: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<byteCount).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
    }

    /// `byteCount` random bytes in base64url without padding.
    public static func base64URL(byteCount: Int) -> String {
        Base64URL.encode(bytes(byteCount))
    }
}

/// RFC 4648 §5 base64url without padding (strict: one spelling per byte string).
public enum Base64URL {
    /// Encodes bytes.
    public static func encode(_ data: some Collection<UInt8>) -> String {
        UnpaddedBase64.encode(data, alphabet: .url)
    }

    /// Decodes base64url without padding; `nil` for any other character or a bad length.
    public static func decode(_ string: String) -> [UInt8]? {
        UnpaddedBase64.decode(string, alphabet: .url)
    }
}

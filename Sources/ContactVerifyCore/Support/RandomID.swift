/// Random identifiers and secrets from the system CSPRNG.
public enum RandomID {
    private static let alphabet = Array("0123456789abcdefghijkmnpqrstvwxyz".utf8)  // 32 symbols, no l/o/u

    /// `prefix` followed by 120 random bits in lower-case base32 (24 characters): 60 bits of
    /// each of two 64-bit draws, five bits a character. (On Linux each draw is a `getrandom`
    /// system call; drawing a symbol at a time made 24 of them per identifier, and a
    /// verification's start makes two identifiers.)
    public static func make(prefix: String) -> String {
        var generator = SystemRandomNumberGenerator()
        var out = Array(prefix.utf8)
        out.reserveCapacity(out.count + 24)
        for _ in 0..<2 {
            var bits: UInt64 = generator.next()
            for _ in 0..<12 {
                out.append(alphabet[Int(bits & 31)])
                bits >>= 5
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// `byteCount` random bytes, eight a draw.
    public static func bytes(_ byteCount: Int) -> [UInt8] {
        ServerSecret.randomBytes(count: byteCount)
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

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

/// RFC 4648 §5 base64url without padding.
public enum Base64URL {
    private static let table = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    /// Encodes bytes.
    public static func encode(_ data: some Collection<UInt8>) -> String {
        let bytes = Array(data)
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count * 4 + 2) / 3)
        var i = 0
        while i + 3 <= bytes.count {
            let n = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2])
            out += [table[Int(n >> 18 & 63)], table[Int(n >> 12 & 63)], table[Int(n >> 6 & 63)], table[Int(n & 63)]]
            i += 3
        }
        let rest = bytes.count - i
        if rest == 1 {
            let n = UInt32(bytes[i]) << 16
            out += [table[Int(n >> 18 & 63)], table[Int(n >> 12 & 63)]]
        } else if rest == 2 {
            let n = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8
            out += [table[Int(n >> 18 & 63)], table[Int(n >> 12 & 63)], table[Int(n >> 6 & 63)]]
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes base64url without padding; `nil` for any other character or a bad length.
    public static func decode(_ string: String) -> [UInt8]? {
        var values: [UInt8] = []
        values.reserveCapacity(string.utf8.count)
        for c in string.utf8 {
            switch c {
            case 0x41...0x5A: values.append(c - 0x41)
            case 0x61...0x7A: values.append(c - 0x61 + 26)
            case 0x30...0x39: values.append(c - 0x30 + 52)
            case 0x2D: values.append(62)
            case 0x5F: values.append(63)
            default: return nil
            }
        }
        if values.count % 4 == 1 { return nil }
        var out: [UInt8] = []
        var i = 0
        while i < values.count {
            let chunk = values[i..<min(i + 4, values.count)]
            var n: UInt32 = 0
            for (j, v) in chunk.enumerated() { n |= UInt32(v) << (18 - 6 * UInt32(j)) }
            out.append(UInt8(n >> 16 & 0xFF))
            if chunk.count > 2 { out.append(UInt8(n >> 8 & 0xFF)) }
            if chunk.count > 3 { out.append(UInt8(n & 0xFF)) }
            i += 4
        }
        return out
    }
}

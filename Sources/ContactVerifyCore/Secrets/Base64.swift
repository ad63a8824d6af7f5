/// Unpadded Base64 in the two alphabets the secrets code needs, without Foundation.
///
/// - `standard` (`A–Z a–z 0–9 + /`) is what PHC strings use (argon2 `$…$salt$hash`), without `=`.
/// - `url` (`A–Z a–z 0–9 - _`, RFC 4648 §5) is what link tokens use, without `=`.
///
/// Decoding is strict: no padding, no whitespace, no characters outside the alphabet, no length
/// of 1 mod 4, and the unused low bits of the last character must be zero (so every byte string
/// has exactly one encoding).
enum UnpaddedBase64 {
    /// The 64-character alphabet to encode with and accept when decoding.
    enum Alphabet {
        case standard
        case url

        fileprivate var characters: [UInt8] {
            switch self {
            case .standard: Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
            case .url: Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
            }
        }

        fileprivate func value(of character: UInt8) -> UInt8? {
            switch character {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): character - UInt8(ascii: "A")
            case UInt8(ascii: "a")...UInt8(ascii: "z"): character - UInt8(ascii: "a") + 26
            case UInt8(ascii: "0")...UInt8(ascii: "9"): character - UInt8(ascii: "0") + 52
            case UInt8(ascii: "+") where self == .standard: 62
            case UInt8(ascii: "/") where self == .standard: 63
            case UInt8(ascii: "-") where self == .url: 62
            case UInt8(ascii: "_") where self == .url: 63
            default: nil
            }
        }
    }

    /// The unpadded encoding of `bytes`.
    static func encode(_ bytes: some Collection<UInt8>, alphabet: Alphabet) -> String {
        let table = alphabet.characters
        var output: [UInt8] = []
        output.reserveCapacity((bytes.count * 4 + 2) / 3)
        var iterator = bytes.makeIterator()
        while let b0 = iterator.next() {
            let b1 = iterator.next()
            let b2 = b1 == nil ? nil : iterator.next()
            output.append(table[Int(b0 >> 2)])
            output.append(table[Int((b0 & 0x03) << 4 | (b1 ?? 0) >> 4)])
            if let b1 {
                output.append(table[Int((b1 & 0x0F) << 2 | (b2 ?? 0) >> 6)])
            }
            if let b2 {
                output.append(table[Int(b2 & 0x3F)])
            }
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// The bytes `text` encodes, or `nil` if it is not a canonical unpadded encoding.
    static func decode(_ text: some StringProtocol, alphabet: Alphabet) -> [UInt8]? {
        var values: [UInt8] = []
        values.reserveCapacity(text.utf8.count)
        for character in text.utf8 {
            guard let value = alphabet.value(of: character) else { return nil }
            values.append(value)
        }
        guard values.count % 4 != 1 else { return nil }
        var output: [UInt8] = []
        output.reserveCapacity(values.count * 3 / 4)
        var index = 0
        while index + 4 <= values.count {
            let (v0, v1, v2, v3) = (values[index], values[index + 1], values[index + 2], values[index + 3])
            output.append(v0 << 2 | v1 >> 4)
            output.append(v1 << 4 | v2 >> 2)
            output.append(v2 << 6 | v3)
            index += 4
        }
        switch values.count - index {
        case 2:
            let (v0, v1) = (values[index], values[index + 1])
            guard v1 & 0x0F == 0 else { return nil }
            output.append(v0 << 2 | v1 >> 4)
        case 3:
            let (v0, v1, v2) = (values[index], values[index + 1], values[index + 2])
            guard v2 & 0x03 == 0 else { return nil }
            output.append(v0 << 2 | v1 >> 4)
            output.append(v1 << 4 | v2 >> 2)
        default:
            break
        }
        return output
    }
}

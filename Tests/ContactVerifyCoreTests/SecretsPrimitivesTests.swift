import Testing

@testable import ContactVerifyCore

@Suite("Constant-time comparison and unpadded Base64")
struct SecretsPrimitivesTests {
    // MARK: ConstantTime

    @Test("equal byte strings compare equal, whatever their collection types")
    func equalBytes() {
        let bytes: [UInt8] = [1, 2, 3, 250]
        #expect(ConstantTime.equals(bytes, [1, 2, 3, 250]))
        #expect(ConstantTime.equals(bytes[...], [1, 2, 3, 250] as [UInt8]))
        #expect(ConstantTime.equals([UInt8](), [UInt8]()))
        #expect(ConstantTime.equals("héllo".utf8, Array("héllo".utf8)))
    }

    @Test("a difference in the first, a middle or the last byte makes them unequal")
    func differingBytes() {
        let bytes = [UInt8](repeating: 7, count: 32)
        for position in [0, 15, 31] {
            var other = bytes
            other[position] ^= 0x01
            #expect(!ConstantTime.equals(bytes, other))
        }
    }

    @Test("byte strings of different lengths are unequal, even when one is a prefix of the other")
    func differentLengths() {
        #expect(!ConstantTime.equals([1, 2, 3] as [UInt8], [1, 2] as [UInt8]))
        #expect(!ConstantTime.equals([] as [UInt8], [0] as [UInt8]))
    }

    // MARK: UnpaddedBase64

    @Test("the RFC 4648 test vectors encode without padding and decode back")
    func rfc4648Vectors() {
        let vectors = [
            ("", ""), ("f", "Zg"), ("fo", "Zm8"), ("foo", "Zm9v"),
            ("foob", "Zm9vYg"), ("fooba", "Zm9vYmE"), ("foobar", "Zm9vYmFy"),
        ]
        for (plain, encoded) in vectors {
            #expect(UnpaddedBase64.encode(Array(plain.utf8), alphabet: .standard) == encoded)
            #expect(UnpaddedBase64.decode(encoded, alphabet: .standard) == Array(plain.utf8))
        }
    }

    @Test("the two alphabets differ only in the last two characters")
    func alphabets() {
        let bytes: [UInt8] = [0xFB, 0xFF, 0xBF]
        #expect(UnpaddedBase64.encode(bytes, alphabet: .standard) == "+/+/")
        #expect(UnpaddedBase64.encode(bytes, alphabet: .url) == "-_-_")
        #expect(UnpaddedBase64.decode("-_-_", alphabet: .standard) == nil)
        #expect(UnpaddedBase64.decode("+/+/", alphabet: .url) == nil)
    }

    @Test("decoding rejects padding, whitespace, impossible lengths and non-canonical last characters")
    func strictDecoding() {
        for bad in ["Zg==", "Zg=", "Zm9v\n", " Zm9v", "Z", "Zm9vY", "Zh", "Zm9", "Zm+", "Zm€"] {
            #expect(UnpaddedBase64.decode(bad, alphabet: .standard) == nil, "\(bad)")
        }
        #expect(UnpaddedBase64.decode("Zm8", alphabet: .standard) == Array("fo".utf8))
    }

    @Test("random byte strings of every length up to 100 survive a round trip in both alphabets")
    func roundTrips() {
        var generator = SystemRandomNumberGenerator()
        for length in 0...100 {
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            for alphabet in [UnpaddedBase64.Alphabet.standard, .url] {
                let text = UnpaddedBase64.encode(bytes, alphabet: alphabet)
                #expect(text.utf8.count == (length * 4 + 2) / 3)
                #expect(UnpaddedBase64.decode(text, alphabet: alphabet) == bytes)
            }
        }
    }
}

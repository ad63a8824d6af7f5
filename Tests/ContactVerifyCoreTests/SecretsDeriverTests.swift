import Testing

@testable import ContactVerifyCore

@Suite("Secret deriver: codes and link tokens from a nonce")
struct SecretsDeriverTests {
    let deriver = SecretDeriver(secret: .random())

    /// A fixed secret, so the statistical tests below are deterministic (never flaky).
    static let fixedDeriver = SecretDeriver(secret: ServerSecret(bytes: Array(0..<32)))

    /// The n-th nonce of a deterministic sequence: `n` in the first 8 bytes, then zeros.
    static func countingNonce(_ n: Int) -> [UInt8] {
        withUnsafeBytes(of: UInt64(n).bigEndian) { Array($0) } + [UInt8](repeating: 0, count: 24)
    }

    // MARK: Nonces

    @Test("random nonces are 32 bytes and do not repeat")
    func randomNonces() {
        let nonces = (0..<1_000).map { _ in SecretDeriver.randomNonce() }
        #expect(nonces.allSatisfy { $0.count == 32 })
        #expect(Set(nonces).count == nonces.count)
    }

    // MARK: Codes

    @Test("the same nonce always gives the same code, so a resend carries the same secret")
    func codeDeterminism() {
        let nonce = SecretDeriver.randomNonce()
        let first = deriver.code(nonce: nonce, digits: 6)
        for _ in 0..<10 {
            #expect(deriver.code(nonce: nonce, digits: 6) == first)
        }
        // A second deriver over the same secret (another process, a restart) agrees.
        let secret = ServerSecret.random()
        #expect(SecretDeriver(secret: secret).code(nonce: nonce, digits: 8)
                == SecretDeriver(secret: secret).code(nonce: nonce, digits: 8))
    }

    @Test("different nonces give different codes, and another secret gives other codes")
    func codesDiffer() {
        let nonces = (0..<200).map { _ in SecretDeriver.randomNonce() }
        let codes = nonces.map { deriver.code(nonce: $0, digits: 10) }
        // 200 ten-digit codes: a collision has probability ≈ 2·10⁻⁶.
        #expect(Set(codes).count == codes.count)
        let other = SecretDeriver(secret: .random())
        let otherCodes = nonces.map { other.code(nonce: $0, digits: 10) }
        #expect(zip(codes, otherCodes).filter { $0 == $1 }.isEmpty)
    }

    @Test("codes have exactly the requested 4…10 ASCII digits", arguments: 4...10)
    func codeLength(digits: Int) {
        for _ in 0..<200 {
            let code = deriver.code(nonce: SecretDeriver.randomNonce(), digits: digits)
            #expect(code.utf8.count == digits)
            #expect(code.utf8.allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) })
        }
    }

    @Test("leading zeros are kept: some code among the first random nonces starts with 0")
    func leadingZeros() {
        // Each 6-digit code starts with "0" with probability 1/10; none in 1,000 has
        // probability 0.9^1000 ≈ 2·10⁻⁴⁶.
        let code = (0..<1_000).lazy
            .map { _ in deriver.code(nonce: SecretDeriver.randomNonce(), digits: 6) }
            .first { $0.hasPrefix("0") }
        #expect(code?.count == 6)
    }

    @Test("a shorter code is the tail of a longer one for the same nonce (one 64-bit value mod 10^d)")
    func codeTruncation() {
        let nonce = SecretDeriver.randomNonce()
        let ten = deriver.code(nonce: nonce, digits: 10)
        for digits in 4...9 {
            #expect(deriver.code(nonce: nonce, digits: digits) == String(ten.suffix(digits)))
        }
    }

    @Test("codes match an independent HMAC-SHA256 computation (known answer)")
    func codeKnownAnswer() {
        // Python: HMAC(HKDF(secret=bytes(range(32)), info=b"code"), bytes(range(32, 64))),
        // first 8 bytes big-endian, mod 10^d.
        let nonce = Array(UInt8(32)..<64)
        #expect(Self.fixedDeriver.code(nonce: nonce, digits: 4) == "4358")
        #expect(Self.fixedDeriver.code(nonce: nonce, digits: 6) == "194358")
        #expect(Self.fixedDeriver.code(nonce: nonce, digits: 10) == "7456194358")
    }

    /// Pearson's chi-square statistic of `counts` against a uniform distribution.
    static func chiSquare(_ counts: [Int]) -> Double {
        let expected = Double(counts.reduce(0, +)) / Double(counts.count)
        return counts.reduce(0) { $0 + (Double($1) - expected) * (Double($1) - expected) / expected }
    }

    @Test("200,000 six-digit codes: first and last digits are uniform (chi-square, 9 dof, < 27.88 = p 0.001)")
    func digitUniformity() {
        var first = [Int](repeating: 0, count: 10)
        var last = [Int](repeating: 0, count: 10)
        for n in 0..<200_000 {
            let code = Array(Self.fixedDeriver.code(nonce: Self.countingNonce(n), digits: 6).utf8)
            first[Int(code[0] - UInt8(ascii: "0"))] += 1
            last[Int(code[5] - UInt8(ascii: "0"))] += 1
        }
        #expect(Self.chiSquare(first) < 27.88, "first digits \(first)")
        #expect(Self.chiSquare(last) < 27.88, "last digits \(last)")
        // About 10 % of codes start with "0" (security.md S-1).
        #expect((19_000...21_000).contains(first[0]))
    }

    @Test("200,000 four-digit codes cover all 10,000 values uniformly (chi-square, 9,999 dof, < 10,442 = p 0.001)")
    func fullUniformity() {
        var counts = [Int](repeating: 0, count: 10_000)
        for n in 0..<200_000 {
            counts[Int(Self.fixedDeriver.code(nonce: Self.countingNonce(n), digits: 4))!] += 1
        }
        // Critical value by the Wilson–Hilferty approximation: k(1 − 2/9k + z√(2/9k))³, z = 3.090.
        #expect(Self.chiSquare(counts) < 10_442)
        #expect(counts.allSatisfy { $0 > 0 })
    }

    // MARK: Link tokens

    @Test("link tokens are 43 base64url characters carrying 32 bytes")
    func tokenShape() {
        let alphabet = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        for _ in 0..<500 {
            let token = deriver.linkToken(nonce: SecretDeriver.randomNonce())
            #expect(token.count == 43)
            #expect(token.allSatisfy(alphabet.contains))
            #expect(UnpaddedBase64.decode(token, alphabet: .url)?.count == 32)
        }
    }

    @Test("the same nonce gives the same token; other nonces and secrets give other tokens")
    func tokenDeterminism() {
        let nonce = SecretDeriver.randomNonce()
        let token = deriver.linkToken(nonce: nonce)
        #expect(deriver.linkToken(nonce: nonce) == token)
        #expect(deriver.linkToken(nonce: SecretDeriver.randomNonce()) != token)
        #expect(SecretDeriver(secret: .random()).linkToken(nonce: nonce) != token)
    }

    @Test("a token and a code from the same nonce use independent keys (known answer)")
    func tokenKnownAnswer() {
        // Python: base64url(HMAC(HKDF(secret=bytes(range(32)), info=b"link"), bytes(range(32, 64)))).
        let token = Self.fixedDeriver.linkToken(nonce: Array(UInt8(32)..<64))
        #expect(token == "1iZFagA9eCOyuhmocFAv2p8H6hgdMviEZuRTtW5vzE0")
    }

    @Test("the lookup key is the SHA-256 of the token's UTF-8")
    func lookupKey() {
        // FIPS 180-2 test vector: SHA-256("abc").
        #expect(ServerSecret.encodeHex(SecretDeriver.tokenLookupKey("abc"))
                == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(ServerSecret.encodeHex(SecretDeriver.tokenLookupKey("1iZFagA9eCOyuhmocFAv2p8H6hgdMviEZuRTtW5vzE0"))
                == "c050442afcfe2b1a6cf932a9662b16d8c8f117410341bc476bd03d0f71cb766a")
        let token = deriver.linkToken(nonce: SecretDeriver.randomNonce())
        #expect(SecretDeriver.tokenLookupKey(token).count == 32)
        #expect(SecretDeriver.tokenLookupKey(token) == SecretDeriver.tokenLookupKey(token))
    }

    @Test("the deriver's description does not reveal its keys")
    func redaction() {
        var dumped = ""
        dump(deriver, to: &dumped)
        #expect("\(deriver)" == "SecretDeriver(redacted)")
        #expect(!dumped.contains("codeKey") && !dumped.contains("linkKey"))
    }
}

import Testing

@testable import ContactVerifyCore

/// Identifiers: their form, and that every character of them is random.
@Suite("Random identifiers")
struct RandomIDTests {
    private static let alphabet = Set("0123456789abcdefghijkmnpqrstvwxyz")

    @Test("an identifier is its prefix and 24 characters of the base32 alphabet, and 10,000 of them are distinct")
    func form() {
        let ids = (0..<10_000).map { _ in RandomID.make(prefix: "vf_") }
        for id in ids {
            #expect(id.hasPrefix("vf_") && id.count == 27)
            #expect(id.dropFirst(3).allSatisfy(Self.alphabet.contains), "\(id)")
        }
        #expect(Set(ids).count == ids.count)
    }

    @Test("every position of 4,000 identifiers takes every one of the 32 symbols")
    func everyPositionRandom() {
        let ids = (0..<4_000).map { _ in Array(RandomID.make(prefix: "").utf8) }
        for position in 0..<24 {
            // A fixed position (bits drawn once and reused, or never shifted in) would show
            // one symbol; a uniform one misses a symbol of 32 in 4,000 draws with odds ≈ 10⁻⁵³.
            #expect(Set(ids.map { $0[position] }).count == 32, "position \(position)")
        }
        // …and the characters of one identifier are independent: neighbours match one time in
        // 32 (≈ 2,900 of 92,000 pairs), not whenever the same bits are read twice.
        let pairs = ids.flatMap { id in zip(id, id.dropFirst()).map { $0 == $1 } }
        #expect(pairs.filter { $0 }.count < pairs.count / 10)
    }

    @Test("random bytes come in the length asked for, and are not all alike")
    func bytes() {
        for count in 0...40 {
            #expect(RandomID.bytes(count).count == count)
        }
        let sample = RandomID.bytes(64)
        #expect(Set(sample).count > 8)
    }
}

import Foundation
import Testing

@testable import ContactVerifyDelivery

@Suite("Whitespace trimming without NSString")
struct WhitespaceTrimmingTests {
    @Test("trims exactly what Foundation trims: every scalar up to U+30FF on both sides, inside, and alone")
    func matchesFoundation() {
        var samples = ["", "a", "   ", "\r\nabc\r\n", " \u{301}x", "x \u{301}", "👍🏽 ", "\u{FEFF}a", "\u{200B}a\u{200B}", "a b\t"]
        for value in 0..<0x3100 {
            guard let scalar = Unicode.Scalar(value) else { continue }
            samples += ["\(scalar)a\(scalar)", " \(scalar) ", "\(scalar)"]
        }
        let differing = samples.filter { $0.trimmingWhitespace() != $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        #expect(differing.isEmpty, "\(differing.prefix(5).map { Array($0.unicodeScalars) })")
        #expect("\u{A0}\u{3000}\tname\u{2028}\n".trimmingWhitespace() == "name")
        #expect("Name:  value  ".dropFirst(5).trimmingWhitespace() == "value")
    }
}

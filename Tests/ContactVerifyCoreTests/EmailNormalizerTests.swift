import Testing

@testable import ContactVerifyCore

@Suite("Email normalization")
struct EmailNormalizerTests {
    let normalizer = EmailNormalizer()

    /// The error code `input` is rejected with, or nil if it is accepted.
    func rejection(_ input: String) -> String? {
        do {
            _ = try normalizer.normalize(input)
            return nil
        } catch {
            return error.code
        }
    }

    // MARK: Accepted forms

    @Test("the key is the whole address lower-cased, the stored address keeps the local part as typed")
    func caseInsensitiveKey() throws {
        let typed = try normalizer.normalize("Alice@Example.COM")
        #expect(typed.address == "Alice@example.com")
        #expect(typed.key == "alice@example.com")
        #expect(try normalizer.normalize("alice@example.com").key == typed.key)
        #expect(try normalizer.normalize("ALICE@x.com").key == normalizer.normalize("alice@x.com").key)
    }

    @Test("plus-tags and dots are kept, so tagged addresses are distinct")
    func plusTagsKept() throws {
        let tagged = try normalizer.normalize("alice+promo@x.com")
        let plain = try normalizer.normalize("alice@x.com")
        let dotted = try normalizer.normalize("a.lice@x.com")
        #expect(tagged.address == "alice+promo@x.com")
        #expect(tagged.key != plain.key)
        #expect(dotted.key != plain.key)
    }

    @Test("ASCII whitespace around the address is trimmed")
    func trimsASCIIWhitespace() throws {
        #expect(try normalizer.normalize("  alice@example.com\t").address == "alice@example.com")
        #expect(try normalizer.normalize("\r\n alice@example.com \n").address == "alice@example.com")
    }

    @Test("every RFC 5322 atext character is allowed in the local part")
    func atextAllowed() throws {
        let local = "a!#$%&'*+-/=?^_`{|}~z"
        #expect(try normalizer.normalize(local + "@example.com").address == local + "@example.com")
    }

    @Test("an IDN domain is stored as its A-label")
    func idnDomainToALabel() throws {
        let email = try normalizer.normalize("kim@bücher.example")
        #expect(email.address == "kim@xn--bcher-kva.example")
        #expect(email.key == "kim@xn--bcher-kva.example")
    }

    @Test("an upper-case IDN domain and its A-label typed directly give the same key")
    func idnCaseAndALabel() throws {
        let upper = try normalizer.normalize("kim@BÜCHER.Example")
        let aLabel = try normalizer.normalize("kim@XN--BCHER-KVA.example")
        #expect(upper.key == "kim@xn--bcher-kva.example")
        #expect(aLabel.key == upper.key)
    }

    @Test("a Cyrillic homograph domain is stored as punycode, distinct from the Latin domain")
    func homographDomainAsPunycode() throws {
        let homograph = try normalizer.normalize("alice@ex\u{0430}mple.com")  // Cyrillic а
        #expect(homograph.address.hasPrefix("alice@xn--"))
        #expect(homograph.address.hasSuffix(".com"))
        #expect(homograph.address.unicodeScalars.allSatisfy { $0.isASCII })
        #expect(homograph.key != (try normalizer.normalize("alice@example.com")).key)
    }

    @Test("NFC and NFD spellings of a domain give the same key")
    func nfcAndNFDSameKey() throws {
        let nfc = try normalizer.normalize("jo@caf\u{00E9}.example")
        let nfd = try normalizer.normalize("jo@cafe\u{0301}.example")
        #expect(nfc.key == nfd.key)
        #expect(nfc.address == "jo@xn--caf-dma.example")
    }

    @Test("the longest legal address, 64-octet local part and 254 octets in all, is accepted")
    func longestLegalAddress() throws {
        let local = String(repeating: "a", count: 64)
        // 64 + 1 + 189 = 254: three 61-octet labels, dots and "com".
        let domain = [String](repeating: String(repeating: "b", count: 61), count: 3)
            .joined(separator: ".") + ".com"
        let email = try normalizer.normalize(local + "@" + domain)
        #expect(email.address.utf8.count == 254)
    }

    // MARK: Rejected forms

    @Test("an empty or whitespace-only value is email_empty")
    func empty() {
        #expect(rejection("") == "email_empty")
        #expect(rejection(" \t\r\n ") == "email_empty")
    }

    @Test("CR and LF inside the value are rejected as invalid characters")
    func crlfRejected() {
        #expect(rejection("alice@x.com\r\nBcc: a@evil.com") == "email_invalid_characters")
        #expect(rejection("ali\nce@x.com") == "email_invalid_characters")
        #expect(rejection("alice@x.c\rom") == "email_invalid_characters")
    }

    @Test("a NUL byte is rejected as an invalid character")
    func nulRejected() {
        #expect(rejection("a@x.com\u{0}@evil.com") == "email_invalid_characters")
    }

    @Test("U+0085, U+2028 and U+2029 line breaks are rejected")
    func unicodeLineBreaksRejected() {
        #expect(rejection("a@x.com\u{85}cc:b@evil.com") == "email_invalid_characters")
        #expect(rejection("a\u{2028}b@x.com") == "email_invalid_characters")
        #expect(rejection("ab@x\u{2029}.com") == "email_invalid_characters")
    }

    @Test("a zero-width space is rejected, inside or at the ends")
    func zeroWidthSpaceRejected() {
        #expect(rejection("ali\u{200B}ce@x.com") == "email_invalid_characters")
        #expect(rejection("alice@ex\u{200B}ample.com") == "email_invalid_characters")
        #expect(rejection("\u{200B}alice@x.com") == "email_invalid_characters")
    }

    @Test("a byte order mark is rejected, not trimmed")
    func bomRejected() {
        #expect(rejection("\u{FEFF}alice@x.com") == "email_invalid_characters")
    }

    @Test("a no-break space is rejected, not trimmed")
    func nbspRejected() {
        #expect(rejection("alice@x.com\u{A0}") == "email_invalid_characters")
        #expect(rejection("alice\u{A0}@x.com") == "email_invalid_characters")
    }

    @Test("other invisible characters are rejected")
    func otherInvisibleRejected() {
        #expect(rejection("alice@x\u{00AD}y.com") == "email_invalid_characters")  // soft hyphen
        #expect(rejection("alice@x\u{3164}.com") == "email_invalid_characters")  // Hangul filler
        #expect(rejection("alice@x\u{FE0F}.com") == "email_invalid_characters")  // variation selector
        #expect(rejection("alice@x\u{E000}.com") == "email_invalid_characters")  // private use
    }

    @Test("a local part of 65 octets is too long")
    func localPartTooLong() {
        #expect(rejection(String(repeating: "a", count: 65) + "@x.com") == "email_local_part_too_long")
    }

    @Test("a domain of more than 255 octets is too long")
    func domainTooLong() {
        let domain = [String](repeating: String(repeating: "d", count: 63), count: 4)
            .joined(separator: ".") + ".com"  // 259 octets
        #expect(rejection("a@" + domain) == "email_too_long")
    }

    @Test("an address of 255 octets is too long even when each part is legal")
    func addressTooLong() {
        let local = String(repeating: "a", count: 64)
        let domain = [String](repeating: String(repeating: "b", count: 61), count: 3)
            .joined(separator: ".") + ".comx"  // 190 octets, address 255
        #expect(rejection(local + "@" + domain) == "email_too_long")
    }

    @Test("a huge input is refused as too long before any other check")
    func hugeInput() {
        #expect(rejection(String(repeating: "a", count: 100_000) + "@x.com") == "email_too_long")
    }

    @Test("a quoted local part is rejected, and one with CRLF never passes")
    func quotedLocalPart() {
        #expect(rejection("\"john smith\"@x.com") == "email_quoted_local_part")
        #expect(rejection("\"a\"@x.com") == "email_quoted_local_part")
        #expect(rejection("\"a\r\nRCPT TO:<x@evil>\"@x.com") == "email_invalid_characters")
        #expect(rejection("a\"b\"@x.com") == "email_invalid_syntax")
    }

    @Test("IP-address literals are rejected")
    func ipLiteral() {
        #expect(rejection("u@[127.0.0.1]") == "email_ip_literal")
        #expect(rejection("u@[IPv6:::1]") == "email_ip_literal")
    }

    @Test("a dotted IP address as domain is rejected because its TLD is numeric")
    func numericDomain() {
        #expect(rejection("u@127.0.0.1") == "email_invalid_domain")
        #expect(rejection("u@example.123") == "email_invalid_domain")
    }

    @Test("a comma-separated second address is rejected")
    func commaSecondAddress() {
        #expect(rejection("v@x.com,a@evil.com") == "email_multiple_addresses")
        #expect(rejection("v@x.com; a@evil.com") == "email_multiple_addresses")
    }

    @Test("a space-separated second address is rejected")
    func spaceSecondAddress() {
        #expect(rejection("v@x.com a@evil.com") == "email_multiple_addresses")
    }

    @Test("a percent-encoded newline with a second address is not one valid address")
    func encodedNewline() {
        #expect(rejection("v@x.com%0acc:a@evil.com") == "email_invalid_syntax")
        #expect(rejection("a@x.com%00@evil.com") == "email_invalid_syntax")
    }

    @Test("single-label and internal domains such as localhost and intranet are rejected")
    func singleLabelDomain() {
        #expect(rejection("u@localhost") == "email_invalid_domain")
        #expect(rejection("u@intranet") == "email_invalid_domain")
        #expect(rejection("u@LOCALHOST") == "email_invalid_domain")
    }

    @Test("malformed domains are rejected")
    func malformedDomains() {
        #expect(rejection("u@x..com") == "email_invalid_domain")
        #expect(rejection("u@.x.com") == "email_invalid_domain")
        #expect(rejection("u@x.com.") == "email_invalid_domain")
        #expect(rejection("u@-x.com") == "email_invalid_domain")
        #expect(rejection("u@x-.com") == "email_invalid_domain")
        #expect(rejection("u@x_y.com") == "email_invalid_domain")
        #expect(rejection("u@x/y.com") == "email_invalid_domain")
        #expect(rejection("u@" + String(repeating: "l", count: 64) + ".com") == "email_invalid_domain")
    }

    @Test("a missing or second @ and an empty part are syntax errors")
    func atSignSyntax() {
        #expect(rejection("alice.example.com") == "email_invalid_syntax")
        #expect(rejection("a@b@x.com") == "email_invalid_syntax")
        #expect(rejection("@x.com") == "email_invalid_syntax")
        #expect(rejection("alice@") == "email_invalid_syntax")
    }

    @Test("leading, trailing and double dots in the local part are syntax errors")
    func dotAtom() {
        #expect(rejection(".alice@x.com") == "email_invalid_syntax")
        #expect(rejection("alice.@x.com") == "email_invalid_syntax")
        #expect(rejection("al..ice@x.com") == "email_invalid_syntax")
    }

    @Test("characters outside atext in the local part are syntax errors")
    func nonAtext() {
        for local in ["a(b)", "a<b>", "a:b", "a\\b", "a[b]"] {
            #expect(rejection(local + "@x.com") == "email_invalid_syntax", "\(local)")
        }
    }

    @Test("a non-ASCII local part, such as a Cyrillic homograph, is rejected")
    func nonASCIILocalPart() {
        #expect(rejection("\u{0430}lice@example.com") == "email_invalid_characters")
        #expect(rejection("jörg@example.com") == "email_invalid_characters")
    }

    @Test("every error code comes with a message")
    func messages() {
        do {
            _ = try normalizer.normalize("u@localhost")
            Issue.record("expected an error")
        } catch {
            #expect(!error.message.isEmpty)
        }
    }
}

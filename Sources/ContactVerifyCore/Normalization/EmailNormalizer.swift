import CIDN2

/// An email address in the one form ContactVerify stores, sends to and compares.
public struct NormalizedEmail: Sendable, Equatable {
    /// The address mail is sent to: the local part exactly as typed (after trimming), `@`,
    /// and the lower-cased A-label (punycode) domain, e.g. `Alice@xn--bcher-kva.example`.
    public let address: String
    /// The uniqueness key: ``address`` with ASCII letters lower-cased, e.g.
    /// `alice@xn--bcher-kva.example`. Two contacts of one account never share a key.
    public let key: String
}

/// Validates and normalizes email addresses (design §2, security.md (b) 1–17).
///
/// ```swift
/// let email = try EmailNormalizer().normalize("  Alice@Bücher.Example ")
/// email.address  // "Alice@xn--bcher-kva.example"
/// email.key      // "alice@xn--bcher-kva.example"
/// ```
///
/// Rules, in the order they are checked (the first failure is thrown as an ``AddressError``):
/// 1. ASCII whitespace (tab, LF, FF, CR, space) is trimmed from both ends; nothing else is
///    trimmed. Nothing left → `email_empty`.
/// 2. Control characters (CR, LF, NUL, U+0085, …), format and invisible characters (U+200B,
///    U+FEFF, U+2028/2029, default-ignorable code points), non-ASCII spaces (NBSP, …),
///    private-use, unassigned and non-characters anywhere → `email_invalid_characters`.
/// 3. A leading `"` → `email_quoted_local_part`.
/// 4. A comma, semicolon or space with more than one `@` → `email_multiple_addresses`;
///    otherwise a comma, semicolon or space, or not exactly one `@` → `email_invalid_syntax`.
/// 5. Local part over 64 octets → `email_local_part_too_long`; non-ASCII →
///    `email_invalid_characters`; not an RFC 5322 dot-atom → `email_invalid_syntax`.
/// 6. Domain `[…]` → `email_ip_literal`. Otherwise it is converted with libidn2 (UTS #46
///    non-transitional, NFC input) to its lower-cased A-label form, which must have at
///    least two LDH labels of 1–63 octets and a TLD that is not all digits
///    (`email_invalid_domain`), and be at most 255 octets (`email_too_long`).
/// 7. The whole address over 254 octets → `email_too_long`.
///
/// Plus-tags and dots in the local part are kept: `alice+promo@x.com` and `alice@x.com` are
/// different addresses.
public struct EmailNormalizer: Sendable {
    /// RFC 5321 limit on the local part, in octets.
    public static let maximumLocalPartLength = 64
    /// RFC 5321 limit on a forward path's address, in octets.
    public static let maximumAddressLength = 254
    /// Limit on the A-label domain, in octets.
    public static let maximumDomainLength = 255

    /// Inputs longer than this (in UTF-8 octets, after trimming) are refused before any
    /// other work: no valid address, even with a Unicode domain, comes near it.
    static let maximumInputLength = 2048

    /// Creates a normalizer. It holds no state.
    public init() {}

    /// Validates `input` and returns its stored form and uniqueness key.
    ///
    /// - Throws: ``AddressError`` with one of the `email_…` codes listed on the type.
    public func normalize(_ input: String) throws(AddressError) -> NormalizedEmail {
        let trimmed = Self.trimmingASCIIWhitespace(input)
        if trimmed.isEmpty { throw .emailEmpty }
        if trimmed.utf8.count > Self.maximumInputLength { throw .emailTooLong }
        if trimmed.unicodeScalars.contains(where: Self.isForbidden) { throw .emailInvalidCharacters }
        if trimmed.hasPrefix("\"") { throw .emailQuotedLocalPart }

        let atCount = trimmed.utf8.count(where: { $0 == UInt8(ascii: "@") })
        let hasSeparator = trimmed.utf8.contains { byte in
            byte == UInt8(ascii: ",") || byte == UInt8(ascii: ";") || byte == UInt8(ascii: " ")
        }
        if hasSeparator {
            if atCount > 1 { throw .emailMultipleAddresses }
            throw .emailInvalidSyntax("An email address cannot contain commas, semicolons or spaces.")
        }
        guard atCount == 1, let at = trimmed.firstIndex(of: "@") else {
            throw .emailInvalidSyntax("An email address contains exactly one @.")
        }
        let localPart = String(trimmed[..<at])
        let domainPart = String(trimmed[trimmed.index(after: at)...])

        try Self.validateLocalPart(localPart)
        let domain = try Self.asciiDomain(domainPart)

        let address = localPart + "@" + domain
        if address.utf8.count > Self.maximumAddressLength { throw .emailTooLong }
        return NormalizedEmail(address: address, key: Self.asciiLowercased(address))
    }

    // MARK: Local part

    private static func validateLocalPart(_ localPart: String) throws(AddressError) {
        if localPart.isEmpty {
            throw .emailInvalidSyntax("The part before the @ is empty.")
        }
        if localPart.utf8.count > maximumLocalPartLength { throw .emailLocalPartTooLong }
        if localPart.utf8.contains(where: { $0 >= 0x80 }) { throw .emailNonASCIILocalPart }
        // RFC 5322 dot-atom: atext runs separated by single dots.
        var previousWasDot = true  // a leading dot is an error
        for byte in localPart.utf8 {
            if byte == UInt8(ascii: ".") {
                if previousWasDot {
                    throw .emailInvalidSyntax("The part before the @ cannot start with a dot or hold two dots in a row.")
                }
                previousWasDot = true
            } else if isAtext(byte) {
                previousWasDot = false
            } else {
                throw .emailInvalidSyntax("The part before the @ contains a character that is not allowed.")
            }
        }
        if previousWasDot {
            throw .emailInvalidSyntax("The part before the @ cannot end with a dot.")
        }
    }

    /// RFC 5322 `atext`: ASCII letters, digits and ``!#$%&'*+-/=?^_`{|}~``.
    private static func isAtext(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return "!#$%&'*+-/=?^_`{|}~".utf8.contains(byte)
        }
    }

    // MARK: Domain

    /// The domain's lower-cased A-label form, validated as a public host name.
    private static func asciiDomain(_ domain: String) throws(AddressError) -> String {
        if domain.isEmpty {
            throw .emailInvalidSyntax("The part after the @ is empty.")
        }
        if domain.hasPrefix("[") { throw .emailIPLiteral }

        var output: UnsafeMutablePointer<CChar>?
        let status = cidn2_domain_to_ascii(domain, &output)
        defer { if let output { idn2_free(output) } }
        guard status == Int32(IDN2_OK.rawValue), let output else {
            if status == Int32(IDN2_TOO_BIG_DOMAIN.rawValue) { throw .emailDomainTooLong }
            throw .emailInvalidDomain
        }
        let ascii = asciiLowercased(String(cString: output))
        if ascii.utf8.count > maximumDomainLength { throw .emailDomainTooLong }

        let labels = ascii.utf8.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard labels.count >= 2, labels.allSatisfy(isHostLabel),
            let tld = labels.last, !tld.allSatisfy(isDigit)
        else { throw .emailInvalidDomain }
        return ascii
    }

    /// A host name label (RFC 1123): 1–63 letters, digits and hyphens, no hyphen at either end.
    private static func isHostLabel(_ label: Substring.UTF8View) -> Bool {
        guard (1...63).contains(label.count),
            label.first != UInt8(ascii: "-"), label.last != UInt8(ascii: "-")
        else { return false }
        return label.allSatisfy { byte in
            isDigit(byte) || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
                || byte == UInt8(ascii: "-")
        }
    }

    private static func isDigit(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
    }

    // MARK: Characters

    /// Control, format, invisible, non-ASCII space, private-use, unassigned and
    /// non-character code points.
    private static func isForbidden(_ scalar: Unicode.Scalar) -> Bool {
        let properties = scalar.properties
        if properties.isDefaultIgnorableCodePoint || properties.isNoncharacterCodePoint {
            return true
        }
        if scalar == "\u{FFFD}" { return true }  // what undecodable input turned into
        switch properties.generalCategory {
        case .control, .format, .lineSeparator, .paragraphSeparator, .privateUse, .surrogate,
            .unassigned:
            return true
        case .spaceSeparator:
            return scalar != " "
        default:
            return false
        }
    }

    /// `text` without leading and trailing tab, LF, FF, CR and space.
    private static func trimmingASCIIWhitespace(_ text: String) -> String {
        func isASCIIWhitespace(_ byte: UInt8) -> Bool {
            byte == 0x09 || byte == 0x0A || byte == 0x0C || byte == 0x0D || byte == 0x20
        }
        let bytes = text.utf8
        guard let first = bytes.firstIndex(where: { !isASCIIWhitespace($0) }),
            let last = bytes.lastIndex(where: { !isASCIIWhitespace($0) })
        else { return "" }
        return String(decoding: bytes[first...last], as: UTF8.self)
    }

    private static func asciiLowercased(_ text: String) -> String {
        String(decoding: text.utf8.map { byte in
            (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) ? byte + 32 : byte
        }, as: UTF8.self)
    }
}

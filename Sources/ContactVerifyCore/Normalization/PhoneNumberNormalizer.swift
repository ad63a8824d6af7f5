import CPhoneNumber

/// What kind of line a phone number is, as libphonenumber classifies it.
public enum PhoneNumberType: String, Sendable, Codable {
    /// A landline.
    case fixedLine = "fixed_line"
    /// A mobile number.
    case mobile
    /// Either a landline or a mobile (the numbering plan does not tell, e.g. the US).
    case fixedLineOrMobile = "fixed_line_or_mobile"
    /// A freephone number.
    case tollFree = "toll_free"
    /// A premium-rate number.
    case premiumRate = "premium_rate"
    /// A shared-cost number.
    case sharedCost = "shared_cost"
    /// A voice-over-IP number.
    case voip
    /// A personal number, routed to another line.
    case personalNumber = "personal_number"
    /// A pager number.
    case pager
    /// A universal access ("company") number.
    case uan
    /// A voicemail access number.
    case voicemail
    /// Valid, but of no known type.
    case unknown

    /// Whether ContactVerify sends SMS to numbers of this type: only mobile and
    /// fixed-line-or-mobile numbers (others get `not_mobile`).
    public var canReceiveSMS: Bool {
        self == .mobile || self == .fixedLineOrMobile
    }
}

/// A valid phone number in the one form ContactVerify stores and compares.
public struct NormalizedPhone: Sendable, Equatable {
    /// The number in E.164 form, e.g. `+8613800138000`: the uniqueness key.
    public let e164: String
    /// The kind of line, which decides whether SMS may be sent.
    public let type: PhoneNumberType
    /// The ISO 3166 alpha-2 region of the number (`CN`), or `""` for numbers that belong to
    /// no single region (`+800` freephone and other non-geographic entities).
    public let regionCode: String
}

/// Validates phone numbers and converts them to E.164 with Google's libphonenumber
/// (design §2, security.md (b) 18–23).
///
/// ```swift
/// let phone = try PhoneNumberNormalizer().normalize("138 0013 8000", defaultRegion: "CN")
/// phone.e164              // "+8613800138000"
/// phone.type.canReceiveSMS  // true
/// ```
///
/// Policy, in the order it is checked (the first failure is thrown as an ``AddressError``):
/// 1. More than 64 Unicode scalars → `phone_too_long`.
/// 2. Control characters (NUL, CR, LF, …), `*` or `#` (ASCII or full-width) → `invalid_phone`.
/// 3. The input is parsed with libphonenumber, national formats relative to `defaultRegion`.
///    A number with an extension (`x12`, `ext. 12`, `;ext=12`) → `phone_extension_not_allowed`.
/// 4. Any letter, including vanity numbers such as `1-800-MICROSOFT` → `invalid_phone`.
/// 5. Not in `+` international form and no (known) default region → `region_required`:
///    the country is never guessed, and an `00` prefix is read only with a region.
/// 6. Unparseable, or not valid for its region (`IsValidNumber`) → `invalid_phone`.
/// 7. The E.164 string is read back until it gives itself (see `stable(_:)`); the number it
///    settles on is the result, so normalizing a result again changes nothing.
/// 8. More than 15 digits (the ITU E.164 maximum) → `invalid_phone`: libphonenumber calls some
///    longer numbers valid (German ranges with open-ended lengths, e.g. `+49 5367 2379456879`),
///    but no E.164 number, and so no SMS gateway, takes them.
///
/// Full-width and other Unicode decimal digits are normalized by libphonenumber, so
/// `＋８６ １３８ ００１３ ８０００` and `+86 138 0013 8000` give the same number.
public struct PhoneNumberNormalizer: Sendable {
    /// Longest accepted input, in Unicode scalars (spaces and punctuation included).
    public static let maximumInputLength = 64
    /// Most digits an E.164 number has, country calling code included (ITU-T E.164 §6).
    public static let maximumE164Digits = 15

    /// Creates a normalizer. It holds no state; libphonenumber's metadata is shared.
    public init() {}

    /// Validates `input` and returns its E.164 form, type and region.
    ///
    /// - Parameters:
    ///   - input: the number as typed: `+44 20 7946 0000`, `020 7946 0000`, `0044 …`.
    ///   - defaultRegion: ISO 3166 alpha-2 code (any case) used to read national formats,
    ///     usually the account's `defaultRegion`. `nil`, or a code that is not a known region
    ///     (see ``isKnownRegion(_:)``), accepts only `+` international input.
    /// - Throws: ``AddressError`` with code `phone_too_long`, `invalid_phone`,
    ///   `phone_extension_not_allowed` or `region_required`.
    public func normalize(_ input: String, defaultRegion: String?) throws(AddressError) -> NormalizedPhone {
        let scalars = input.unicodeScalars
        if scalars.count > Self.maximumInputLength { throw .phoneTooLong }
        if scalars.contains(where: { $0.properties.generalCategory == .control }) {
            throw .invalidPhone("The phone number contains control characters.")
        }
        if scalars.contains(where: { "*#＊＃".unicodeScalars.contains($0) }) {
            throw .invalidPhone("Service codes with * or # are not phone numbers.")
        }

        let region = defaultRegion.flatMap(Self.canonicalRegion)
        let result = Self.parse(input, region: region)

        if result.hasExtension { throw .phoneExtensionNotAllowed }
        if scalars.contains(where: Self.isLetter) {
            throw .invalidPhone("Phone numbers with letters (vanity numbers) are not accepted.")
        }

        switch result.status {
        case CPN_OK:
            let number = try Self.stable(result)
            if number.e164.utf8.count - 1 > Self.maximumE164Digits {
                throw .invalidPhone("The phone number has more than 15 digits.")
            }
            return NormalizedPhone(
                e164: number.e164, type: Self.numberType(number.type),
                regionCode: Self.isRegionShaped(number.region) && number.region != "ZZ" ? number.region : "")
        case CPN_INVALID_COUNTRY_CODE:
            if region == nil && !Self.startsWithPlus(input) { throw .regionRequired }
            throw .invalidPhone("The country calling code is unknown.")
        case CPN_TOO_SHORT:
            throw .invalidPhone("The phone number has too few digits.")
        case CPN_TOO_LONG:
            throw .invalidPhone("The phone number has too many digits.")
        case CPN_INVALID:
            throw .invalidPhone("The phone number is not valid for its country.")
        default:
            throw .invalidPhone("The value is not a phone number.")
        }
    }

    /// Whether `code` (any case) is an ISO 3166 alpha-2 region that libphonenumber has
    /// metadata for, e.g. `GB` or `cn`; use it to validate an account's `defaultRegion` and
    /// allowed countries. `ZZ`, `001` and unknown codes give `false`.
    public static func isKnownRegion(_ code: String) -> Bool {
        canonicalRegion(code) != nil
    }

    // MARK: libphonenumber

    private struct ParseResult {
        var status: cpn_status
        var hasExtension: Bool
        var e164: String
        var type: Int32
        var region: String
    }

    private static func parse(_ input: String, region: String?) -> ParseResult {
        let bytes = input.utf8CString  // NUL-terminated, so never empty; the NUL is not passed
        var e164 = [CChar](repeating: 0, count: 32)
        var regionOut = [CChar](repeating: 0, count: 8)
        var type: Int32 = CPN_TYPE_UNKNOWN.rawValue.toInt32
        var hasExtension: Int32 = 0

        func call(_ regionPointer: UnsafePointer<CChar>?) -> Int32 {
            bytes.withUnsafeBufferPointer { input in
                cpn_normalize(
                    input.baseAddress, input.count - 1, regionPointer,
                    &e164, e164.count, &type, &hasExtension, &regionOut, regionOut.count)
            }
        }
        let status = if let region { region.withCString(call) } else { call(nil) }

        return ParseResult(
            status: cpn_status(rawValue: UInt32(bitPattern: status)),
            hasExtension: hasExtension != 0,
            e164: status == CPN_OK.rawValue.toInt32 ? string(from: e164) : "",
            type: type,
            region: status == CPN_OK.rawValue.toInt32 ? string(from: regionOut) : "")
    }

    /// How many times ``stable(_:)`` re-reads an E.164 string before giving up.
    private static let maximumStablePasses = 3

    /// The number whose E.164 string reads back as itself, starting from a successful parse.
    ///
    /// libphonenumber's E.164 output is not always a fixed point of its own parser: it writes
    /// `++52 1 1 591 433 6789` as `+5215914336789`, which it then reads as `+525914336789` (the
    /// old Mexican mobile `1` is dropped), so one number could be stored twice. The E.164 string
    /// is therefore parsed again, with no region, until it gives itself back.
    /// - Throws: `invalid_phone` when it does not settle or a re-read is not a valid number.
    private static func stable(_ first: ParseResult) throws(AddressError) -> ParseResult {
        var current = first
        for _ in 0..<maximumStablePasses {
            let again = parse(current.e164, region: nil)
            guard again.status == CPN_OK, !again.hasExtension else { break }
            if again.e164 == current.e164 { return again }
            current = again
        }
        throw .invalidPhone("The phone number has no stable E.164 form.")
    }

    private static func numberType(_ raw: Int32) -> PhoneNumberType {
        switch cpn_number_type(rawValue: UInt32(bitPattern: raw)) {
        case CPN_TYPE_FIXED_LINE: .fixedLine
        case CPN_TYPE_MOBILE: .mobile
        case CPN_TYPE_FIXED_LINE_OR_MOBILE: .fixedLineOrMobile
        case CPN_TYPE_TOLL_FREE: .tollFree
        case CPN_TYPE_PREMIUM_RATE: .premiumRate
        case CPN_TYPE_SHARED_COST: .sharedCost
        case CPN_TYPE_VOIP: .voip
        case CPN_TYPE_PERSONAL_NUMBER: .personalNumber
        case CPN_TYPE_PAGER: .pager
        case CPN_TYPE_UAN: .uan
        case CPN_TYPE_VOICEMAIL: .voicemail
        default: .unknown
        }
    }

    // MARK: Helpers

    /// The upper-cased code if it is a supported region, else nil.
    private static func canonicalRegion(_ code: String) -> String? {
        let upper = String(decoding: code.utf8.map { byte in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) ? byte - 32 : byte
        }, as: UTF8.self)
        guard isRegionShaped(upper), upper != "ZZ" else { return nil }
        return cpn_is_supported_region(upper) != 0 ? upper : nil
    }

    /// Exactly two ASCII upper-case letters.
    private static func isRegionShaped(_ code: String) -> Bool {
        code.utf8.count == 2
            && code.utf8.allSatisfy { (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0) }
    }

    /// Whether the first plus sign or decimal digit of `input` is a plus sign, i.e. whether
    /// libphonenumber reads it as international (`+…`) rather than national.
    private static func startsWithPlus(_ input: String) -> Bool {
        let start = input.unicodeScalars.first { scalar in
            scalar == "+" || scalar == "＋" || scalar.properties.generalCategory == .decimalNumber
        }
        return start == "+" || start == "＋"
    }

    private static func isLetter(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
            true
        default:
            false
        }
    }

    private static func string(from buffer: [CChar]) -> String {
        let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        return String(decoding: bytes, as: UTF8.self)
    }
}

extension UInt32 {
    fileprivate var toInt32: Int32 { Int32(bitPattern: self) }
}

import Testing

@testable import ContactVerifyCore

@Suite("Phone number normalization")
struct PhoneNormalizerTests {
    let normalizer = PhoneNumberNormalizer()

    /// The error code `input` is rejected with, or nil if it is accepted.
    func rejection(_ input: String, region: String?) -> String? {
        do {
            _ = try normalizer.normalize(input, defaultRegion: region)
            return nil
        } catch {
            return error.code
        }
    }

    // MARK: Accepted forms

    @Test("the design's three Chinese forms are one mobile number")
    func chineseForms() throws {
        let international = try normalizer.normalize("+86 138 0013 8000", defaultRegion: "CN")
        let idd = try normalizer.normalize("008613800138000", defaultRegion: "CN")
        let national = try normalizer.normalize("13800138000", defaultRegion: "CN")
        let expected = NormalizedPhone(e164: "+8613800138000", type: .mobile, regionCode: "CN")
        #expect(international == expected)
        #expect(idd == expected)
        #expect(national == expected)
        #expect(expected.type.canReceiveSMS)
    }

    @Test("an international number needs no default region")
    func internationalWithoutRegion() throws {
        #expect(try normalizer.normalize("+86 138 0013 8000", defaultRegion: nil).e164 == "+8613800138000")
    }

    @Test("the British forms of one London number give one E.164 string")
    func britishForms() throws {
        for (input, region) in [
            ("+44 20 7946 0000", nil), ("+44 20 7946 0000", "GB"), ("0044 20 7946 0000", "GB"),
            ("020 7946 0000", "GB"), ("+44 (0)20 7946 0000", nil), ("+44 (0)20 7946 0000", "GB"),
            ("(020) 7946-0000", "GB"), ("020.7946.0000", "GB"),
        ] as [(String, String?)] {
            let phone = try normalizer.normalize(input, defaultRegion: region)
            #expect(phone.e164 == "+442079460000", "\(input) with \(region ?? "no region")")
            #expect(phone.type == .fixedLine)
            #expect(phone.regionCode == "GB")
            #expect(!phone.type.canReceiveSMS)
        }
    }

    @Test("an Italian number keeps its leading zero and round-trips")
    func italianLeadingZero() throws {
        let phone = try normalizer.normalize("+39 06 1234 5678", defaultRegion: nil)
        #expect(phone.e164 == "+390612345678")
        #expect(phone.regionCode == "IT")
        #expect(try normalizer.normalize(phone.e164, defaultRegion: nil) == phone)
        #expect(try normalizer.normalize("06 1234 5678", defaultRegion: "IT") == phone)
    }

    @Test("the default region is read in any case")
    func regionCaseInsensitive() throws {
        #expect(try normalizer.normalize("13800138000", defaultRegion: "cn").e164 == "+8613800138000")
    }

    @Test("full-width digits and plus give the same number as ASCII")
    func fullWidthDigits() throws {
        let fullWidth = try normalizer.normalize("＋８６ １３８ ００１３ ８０００", defaultRegion: nil)
        let ascii = try normalizer.normalize("+86 138 0013 8000", defaultRegion: nil)
        #expect(fullWidth == ascii)
    }

    @Test("Arabic-Indic digits are normalized too")
    func arabicIndicDigits() throws {
        let arabic = try normalizer.normalize("+٤٤ ٢٠ ٧٩٤٦ ٠٠٠٠", defaultRegion: nil)
        #expect(arabic.e164 == "+442079460000")
    }

    @Test("the number type tells which numbers can receive SMS")
    func numberTypes() throws {
        #expect(try normalizer.normalize("+1 650 253 0000", defaultRegion: nil).type == .fixedLineOrMobile)
        #expect(try normalizer.normalize("+1 800 253 0000", defaultRegion: nil).type == .tollFree)
        #expect(try normalizer.normalize("+44 7400 123456", defaultRegion: nil).type == .mobile)
        #expect(try normalizer.normalize("+1 900 253 0000", defaultRegion: nil).type == .premiumRate)
        #expect(PhoneNumberType.fixedLineOrMobile.canReceiveSMS)
        #expect(!PhoneNumberType.tollFree.canReceiveSMS)
        #expect(!PhoneNumberType.premiumRate.canReceiveSMS)
        #expect(!PhoneNumberType.sharedCost.canReceiveSMS)
        #expect(!PhoneNumberType.voip.canReceiveSMS)
    }

    @Test("a non-geographic number has no region code")
    func nonGeographic() throws {
        let phone = try normalizer.normalize("+800 1234 5678", defaultRegion: nil)
        #expect(phone.e164 == "+80012345678")
        #expect(phone.regionCode == "")
    }

    @Test("known regions are ISO alpha-2 codes with metadata")
    func knownRegions() {
        #expect(PhoneNumberNormalizer.isKnownRegion("GB"))
        #expect(PhoneNumberNormalizer.isKnownRegion("cn"))
        #expect(!PhoneNumberNormalizer.isKnownRegion("ZZ"))
        #expect(!PhoneNumberNormalizer.isKnownRegion("001"))
        #expect(!PhoneNumberNormalizer.isKnownRegion("XX"))
        #expect(!PhoneNumberNormalizer.isKnownRegion(""))
        #expect(!PhoneNumberNormalizer.isKnownRegion("GBR"))
    }

    // MARK: Rejected forms

    @Test("a national number with no default region is region_required, never guessed")
    func nationalWithoutRegion() {
        #expect(rejection("07700 900123", region: nil) == "region_required")
        #expect(rejection("13800138000", region: nil) == "region_required")
        #expect(rejection("0044 20 7946 0000", region: nil) == "region_required")
    }

    @Test("an unknown default region is treated as no region")
    func unknownRegion() throws {
        #expect(rejection("07700 900123", region: "XX") == "region_required")
        #expect(try normalizer.normalize("+44 7400 123456", defaultRegion: "XX").e164 == "+447400123456")
    }

    @Test("an 00 prefix is read with the default region's rules, not as another country")
    func iddDependsOnRegion() {
        #expect((try? normalizer.normalize("008613800138000", defaultRegion: "US"))?.e164 != "+8613800138000")
    }

    @Test("a vanity number with letters is rejected")
    func vanityNumber() {
        #expect(rejection("1-800-MICROSOFT", region: "US") == "invalid_phone")
        #expect(rejection("+1-800-MICROSOFT", region: nil) == "invalid_phone")
        #expect(rejection("1-800-MICROSOFT", region: nil) == "invalid_phone")
    }

    @Test("service codes with * or # are rejected")
    func serviceCodes() {
        #expect(rejection("*1234", region: "US") == "invalid_phone")
        #expect(rejection("#31#+44 7700 900123", region: nil) == "invalid_phone")
        #expect(rejection("＊1234", region: "US") == "invalid_phone")
    }

    @Test("a number with an extension is rejected")
    func extensions() {
        for input in ["+1 650 253 0000 x12", "+1 650 253 0000;ext=12", "+1 650 253 0000 ext. 12",
                      "(650) 253-0000 extension 12"] {
            #expect(rejection(input, region: "US") == "phone_extension_not_allowed", "\(input)")
        }
    }

    @Test("more than 15 digits is rejected")
    func tooManyDigits() {
        #expect(rejection("+86 138 0013 8000 1234", region: nil) == "invalid_phone")
        #expect(rejection("+4420794600001234567", region: nil) == "invalid_phone")
        #expect(rejection("12345678901234567890", region: "US") == "invalid_phone")
    }

    @Test("a Mexican number with the old mobile 1 normalizes to the E.164 string that reads back as itself")
    func mexicanMobileOneIsStable() throws {
        // Found by FuzzPhone: libphonenumber formats this as +5215914336789, which it then
        // reads as +525914336789, so the same phone could be stored under two strings.
        let typed = try normalizer.normalize("++52115914336789", defaultRegion: nil)
        #expect(typed.e164 == "+525914336789")
        #expect(try normalizer.normalize(typed.e164, defaultRegion: nil) == typed)
        #expect(try normalizer.normalize("+52 591 433 6789", defaultRegion: nil) == typed)
    }

    @Test("a number libphonenumber calls valid but longer than E.164's 15 digits is rejected")
    func validButOverFifteenDigits() {
        // Found by FuzzPhone: libphonenumber's German metadata accepts this 17-digit number.
        #expect(rejection("+49536723794 568798", region: nil) == "invalid_phone")
        #expect(rejection("0536723794568798", region: "DE") == "invalid_phone")
    }

    @Test("an input of more than 64 characters is phone_too_long")
    func inputTooLong() {
        let padded = "+44 20 7946 0000" + String(repeating: " ", count: 49)  // 65 characters
        #expect(rejection(padded, region: nil) == "phone_too_long")
        #expect(rejection(String(repeating: "1", count: 10_000), region: "US") == "phone_too_long")
    }

    @Test("too few digits, an unknown country code and plain text are invalid")
    func invalidNumbers() {
        #expect(rejection("+44 20 7946", region: nil) == "invalid_phone")
        #expect(rejection("+999 1234 5678", region: nil) == "invalid_phone")
        #expect(rejection("hello", region: "US") == "invalid_phone")
        #expect(rejection("", region: "US") == "invalid_phone")
        #expect(rejection("   ", region: nil) == "invalid_phone")
        #expect(rejection("+1 555 010 0000", region: nil) == "invalid_phone")
    }

    @Test("control characters such as NUL and CR LF are rejected")
    func controlCharacters() {
        #expect(rejection("+8613800138000\u{0}123", region: nil) == "invalid_phone")
        #expect(rejection("+86 138 0013\r\n8000", region: nil) == "invalid_phone")
    }
}

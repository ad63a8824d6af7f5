import ContactVerifyCore

/// Masked addresses for pages, logs and message copy: enough for a person to recognise
/// their own address, not enough to learn someone else's.
extension MIMEMessage {
    /// `alice@example.com` → `a***@example.com`: the first character of the local part, three
    /// stars, then the domain. Anything without a single `@` becomes `***`.
    public static func maskedEmail(_ address: String) -> String {
        let parts = address.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, let first = parts[0].first, !parts[1].isEmpty else { return "***" }
        return "\(first)***@\(parts[1])"
    }

    /// `+8613800138000` → `+86 138****8000`: the country calling code, then the national
    /// number with its first three and last four digits kept and one star per hidden digit.
    ///
    /// Short national numbers keep fewer digits so that at least four (or half, when
    /// shorter than eight) stay hidden: `+12025550123` → `+1 20****0123`,
    /// `+6591234567` → `+65 ****4567`. Input that is not E.164 becomes `****`.
    public static func maskedPhone(_ e164: String) -> String {
        guard e164.first == "+" else { return "****" }
        let digits = Array(e164.dropFirst())
        guard (2...15).contains(digits.count), digits.allSatisfy({ $0.isASCII && $0.isNumber }) else { return "****" }
        let countryCodeLength = callingCodeLength(digits)
        let national = digits.dropFirst(countryCodeLength)
        guard national.count >= 2 else { return "****" }

        let n = national.count
        let hiddenMinimum = min(4, (n + 1) / 2)
        var head = 3
        var tail = 4
        while n - head - tail < hiddenMinimum {
            if head > 0 { head -= 1 } else if tail > 0 { tail -= 1 } else { break }
        }
        let hidden = n - head - tail
        return "+" + String(digits.prefix(countryCodeLength)) + " " + String(national.prefix(head))
            + String(repeating: "*", count: hidden) + String(national.suffix(tail))
    }

    /// ``maskedEmail(_:)`` for email, ``maskedPhone(_:)`` for SMS.
    public static func maskedAddress(_ address: String, channel: VerificationChannel) -> String {
        switch channel {
        case .email: maskedEmail(address)
        case .sms: maskedPhone(address)
        }
    }

    /// Length of the ITU country calling code at the start of `digits`. Calling codes are a
    /// prefix code: `1` and `7` are one digit, the two-digit codes are listed, every other
    /// code has three digits.
    static func callingCodeLength(_ digits: [Character]) -> Int {
        guard let first = digits.first else { return 0 }
        if first == "1" || first == "7" { return 1 }
        guard digits.count >= 2 else { return 1 }
        return twoDigitCallingCodes.contains(String(digits[0...1])) ? 2 : 3
    }

    private static let twoDigitCallingCodes: Set<String> = [
        "20", "27", "30", "31", "32", "33", "34", "36", "39", "40", "41", "43", "44", "45", "46", "47", "48", "49",
        "51", "52", "53", "54", "55", "56", "57", "58", "60", "61", "62", "63", "64", "65", "66", "81", "82", "84",
        "86", "90", "91", "92", "93", "94", "95", "98",
    ]
}

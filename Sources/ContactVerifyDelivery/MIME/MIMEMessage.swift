import Foundation

/// Builds the RFC 5322 / MIME bytes of a verification email.
///
/// The message is `multipart/alternative` with a text/plain and a text/html part, both UTF-8
/// and base64-encoded (76-character lines), so no body line can start an SMTP end-of-data
/// (`.`) or exceed line limits. Headers are ASCII: non-ASCII or long display names and
/// subjects become RFC 2047 encoded words, folded onto continuation lines. Every line ends
/// with CRLF and none is longer than 998 octets.
public enum MIMEMessage {
    /// Header lines are kept at or under this length where the content allows (RFC 5322 §2.1.1).
    static let preferredLineLength = 76
    /// UTF-8 bytes per encoded word: 39 bytes → 52 base64 characters → a 64-character word.
    static let encodedWordBytes = 39

    /// Builds the complete message.
    ///
    /// - Parameters:
    ///   - fromName: The sender's display name; may be empty.
    ///   - fromAddress: The sender's address, plain ASCII `local@domain`.
    ///   - to: The recipient's address, plain ASCII `local@domain` (IDN domains as A-labels).
    ///   - subject: One line of text.
    ///   - text: The plain-text body; any line endings (normalized to CRLF).
    ///   - html: The HTML body; any line endings (normalized to CRLF).
    ///   - date: The `Date` header, written in UTC.
    ///   - messageID: `id-left@id-right`, with or without the angle brackets.
    /// - Throws: ``MIMEError`` when an address, the display name, the subject or the
    ///   Message-ID could change the header structure.
    public static func build(
        fromName: String, fromAddress: String, to: String, subject: String, text: String, html: String,
        date: Date, messageID: String
    ) throws(MIMEError) -> [UInt8] {
        guard isPlainAddress(fromAddress) else { throw .invalidAddress(field: "From") }
        guard isPlainAddress(to) else { throw .invalidAddress(field: "To") }
        guard isSafeHeaderText(fromName) else { throw .invalidHeaderValue(field: "From") }
        guard isSafeHeaderText(subject) else { throw .invalidHeaderValue(field: "Subject") }
        let id = try normalizedMessageID(messageID)
        let boundary = makeBoundary()

        var lines: [String] = []
        lines.append("Date: " + UTCDate.rfc5322(date))
        lines.append(folded("From:", tokens: mailboxTokens(name: fromName, address: fromAddress)))
        lines.append("To: " + to)
        lines.append(folded("Subject:", tokens: subjectTokens(subject)))
        lines.append("Message-ID: <\(id)>")
        lines.append("MIME-Version: 1.0")
        lines.append("Auto-Submitted: auto-generated")
        lines.append("Content-Type: multipart/alternative;\r\n boundary=\"\(boundary)\"")
        lines.append("")
        lines.append("This is a multi-part message in MIME format.")
        lines.append("")
        for (type, body) in [("text/plain", text), ("text/html", html)] {
            lines.append("--" + boundary)
            lines.append("Content-Type: \(type); charset=UTF-8")
            lines.append("Content-Transfer-Encoding: base64")
            lines.append("")
            lines.append(base64Lines(crlfNormalized(body)))
        }
        lines.append("--" + boundary + "--")
        return Array((lines.joined(separator: "\r\n") + "\r\n").utf8)
    }

    // MARK: - Validation

    /// Characters allowed in a dot-atom (RFC 5322 `atext` and `.`).
    private static let atext = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-/=?^_`{|}~.".utf8)
    /// Characters allowed in a domain of a plain address.
    private static let domainCharacters = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.".utf8)

    /// A single ASCII `local@domain` (dot-atom local part, LDH domain labels, ≤ 254 octets).
    static func isPlainAddress(_ address: String) -> Bool {
        let bytes = Array(address.utf8)
        guard !bytes.isEmpty, bytes.count <= 254 else { return false }
        let parts = bytes.split(separator: UInt8(ascii: "@"), omittingEmptySubsequences: false)
        guard parts.count == 2 else { return false }
        let local = parts[0], domain = parts[1]
        guard !local.isEmpty, local.count <= 64, local.allSatisfy(atext.contains),
            local.first != UInt8(ascii: "."), local.last != UInt8(ascii: "."),
            !local.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false).contains(where: \.isEmpty)
        else { return false }
        guard !domain.isEmpty, domain.allSatisfy(domainCharacters.contains) else { return false }
        let labels = domain.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        return labels.allSatisfy { !$0.isEmpty && $0.count <= 63 }
    }

    /// No C0/C1 control character (CR, LF, NUL, TAB…), no Unicode line or paragraph separator.
    static func isSafeHeaderText(_ value: String) -> Bool {
        value.unicodeScalars.allSatisfy { scalar in
            switch scalar.properties.generalCategory {
            case .control, .lineSeparator, .paragraphSeparator: false
            default: true
            }
        }
    }

    private static func normalizedMessageID(_ value: String) throws(MIMEError) -> String {
        var id = Substring(value)
        if id.hasPrefix("<"), id.hasSuffix(">"), id.count >= 2 { id = id.dropFirst().dropLast() }
        let bytes = Array(id.utf8)
        let parts = bytes.split(separator: UInt8(ascii: "@"), omittingEmptySubsequences: false)
        guard bytes.count <= 250, parts.count == 2, parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy(atext.contains) })
        else { throw .invalidMessageID }
        return String(id)
    }

    // MARK: - Headers

    /// Joins tokens with spaces, starting a CRLF SP continuation line before a token that
    /// would take the line past ``preferredLineLength``.
    static func folded(_ name: String, tokens: [String]) -> String {
        var result = name
        var lineLength = name.utf8.count
        for token in tokens {
            let length = token.utf8.count
            if lineLength + 1 + length > preferredLineLength, lineLength > name.utf8.count {
                result += "\r\n " + token
                lineLength = 1 + length
            } else {
                result += " " + token
                lineLength += 1 + length
            }
        }
        return result
    }

    /// `"Name" <address>`, `=?UTF-8?B?…?= <address>` or the bare address.
    private static func mailboxTokens(name: String, address: String) -> [String] {
        let name = name.trimmingCharacters(in: .whitespaces)
        guard !name.isEmpty else { return [address] }
        let plain = name.unicodeScalars.allSatisfy { (0x20...0x7E).contains($0.value) }
        if plain, !name.contains("=?"), name.utf8.count <= 60 {
            let escaped = name.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            return ["\"\(escaped)\"", "<\(address)>"]
        }
        return encodedWords(name) + ["<\(address)>"]
    }

    /// The subject as itself when it is short printable ASCII, else as encoded words.
    private static func subjectTokens(_ subject: String) -> [String] {
        let plain = subject.unicodeScalars.allSatisfy { (0x20...0x7E).contains($0.value) }
        if plain, !subject.contains("=?"), "Subject: ".utf8.count + subject.utf8.count <= preferredLineLength,
            subject.first != " ", subject.last != " "
        {
            return subject.isEmpty ? [] : [subject]
        }
        return encodedWords(subject)
    }

    /// RFC 2047 B-encoded words of at most ``encodedWordBytes`` UTF-8 bytes each, split
    /// between Unicode scalars so no word holds part of a character.
    static func encodedWords(_ text: String) -> [String] {
        var words: [String] = []
        var chunk: [UInt8] = []
        for scalar in text.unicodeScalars {
            let bytes = Array(String(scalar).utf8)
            if chunk.count + bytes.count > encodedWordBytes {
                words.append("=?UTF-8?B?" + Data(chunk).base64EncodedString() + "?=")
                chunk.removeAll(keepingCapacity: true)
            }
            chunk += bytes
        }
        if !chunk.isEmpty { words.append("=?UTF-8?B?" + Data(chunk).base64EncodedString() + "?=") }
        return words
    }

    // MARK: - Body

    /// The UTF-8 bytes of `text` with CRLF for every line ending (LF, CR or CRLF in the input).
    ///
    /// One pass over the bytes: Foundation's `replacingOccurrences` (three of them, through
    /// NSString) was 16 % of the service's CPU while it sent a batch of emails.
    static func crlfNormalized(_ text: String) -> [UInt8] {
        let cr = UInt8(ascii: "\r"), lf = UInt8(ascii: "\n")
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count + text.utf8.count / 32)
        var afterCR = false
        for byte in text.utf8 {
            if byte == lf && afterCR {
                afterCR = false  // the LF of a CRLF, already written
                continue
            }
            afterCR = byte == cr
            if byte == cr || byte == lf {
                bytes.append(cr)
                bytes.append(lf)
            } else {
                bytes.append(byte)
            }
        }
        return bytes
    }

    /// Base64 of `bytes` in lines of 76 characters joined by CRLF (no CRLF after the last).
    static func base64Lines(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString(options: [.lineLength76Characters, .endLineWithCarriageReturn, .endLineWithLineFeed])
    }

    /// A random boundary; `=_` cannot occur in base64 text, so no part can contain it.
    private static func makeBoundary() -> String {
        var generator = SystemRandomNumberGenerator()
        let random = (0..<2).map { _ in
            let hex = String(generator.next() as UInt64, radix: 16)
            return String(repeating: "0", count: 16 - hex.count) + hex
        }
        return "=_cv_" + random.joined()
    }
}

/// UTC date formats without shared formatter state.
enum UTCDate {
    private static let calendar: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC") ?? TimeZone(secondsFromGMT: 0) ?? calendar.timeZone
        return calendar
    }()
    private static let weekdays = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// `Thu, 21 Nov 2026 10:00:00 +0000` (RFC 5322 §3.3).
    static func rfc5322(_ date: Date) -> String {
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second, .weekday], from: date)
        return "\(weekdays[(c.weekday ?? 1) - 1]), \(pad(c.day, 2)) \(months[(c.month ?? 1) - 1]) \(pad(c.year, 4)) "
            + "\(pad(c.hour, 2)):\(pad(c.minute, 2)):\(pad(c.second, 2)) +0000"
    }

    /// `2026-11-21T10:00:00.123Z` (RFC 3339, milliseconds, UTC).
    static func rfc3339(_ date: Date) -> String {
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        let totalMilliseconds = Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
        let milliseconds = Int(((totalMilliseconds % 1000) + 1000) % 1000)
        return "\(pad(c.year, 4))-\(pad(c.month, 2))-\(pad(c.day, 2))T\(pad(c.hour, 2)):\(pad(c.minute, 2)):"
            + "\(pad(c.second, 2)).\(pad(milliseconds, 3))Z"
    }

    private static func pad(_ value: Int?, _ width: Int) -> String {
        let text = String(value ?? 0)
        return text.count >= width ? text : String(repeating: "0", count: width - text.count) + text
    }
}

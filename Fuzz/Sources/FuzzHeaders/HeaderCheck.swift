import Foundation

/// What FuzzHeaders asserts about the bytes of a built message, written independently of
/// `MIMEMessage` so that it can catch the builder's mistakes.
enum HeaderCheck {
    /// The header fields `MIMEMessage.build` writes, in order; anything else was injected.
    static let expectedFields = [
        "Date", "From", "To", "Subject", "Message-ID", "MIME-Version", "Auto-Submitted", "Content-Type",
    ]
    /// RFC 5322 §2.1.1: no line longer than this, CRLF excluded.
    static let maximumLineLength = 998

    /// No control character (C0, C1, DEL) and no Unicode line or paragraph separator.
    static func isOneLine(_ text: String) -> Bool {
        text.unicodeScalars.allSatisfy { scalar in
            switch scalar.properties.generalCategory {
            case .control, .lineSeparator, .paragraphSeparator: false
            default: true
            }
        }
    }

    /// The first property `message` breaks, or `nil`:
    /// 1. every CR is followed by LF and every LF follows a CR (no bare CR or LF anywhere);
    /// 2. the header section ends at the first empty line and holds printable ASCII only, in
    ///    lines of at most 998 octets;
    /// 3. unfolded (a line starting with a space continues the previous one), it holds exactly
    ///    ``expectedFields`` in order, each `Name: value`;
    /// 4. `To` is exactly `to`; `Subject` decodes (RFC 2047 B words, or plain) to `subject`;
    ///    `From` is the address in angle brackets after the display name, which decodes to
    ///    `from.name` without surrounding whitespace (or the bare address when that is empty).
    static func problem(in message: [UInt8], from: (name: String, address: String), to: String, subject: String) -> String? {
        guard let end = headerEnd(message) else { return "a bare CR or LF, or no empty line after the headers" }
        let header = Array(message[..<end])
        guard header.allSatisfy({ (0x20...0x7E).contains($0) || $0 == 0x0D || $0 == 0x0A }) else {
            return "a header byte that is not printable ASCII"
        }
        // Every LF ends a CRLF (checked above), so the lines are the pieces between LFs, less their CR.
        let lines = header.split(separator: 0x0A, omittingEmptySubsequences: false).map { line in
            String(decoding: line.last == 0x0D ? line.dropLast() : line, as: UTF8.self)
        }
        guard lines.allSatisfy({ $0.utf8.count <= maximumLineLength }) else { return "a header line over 998 octets" }

        var fields: [(name: String, value: String)] = []
        for line in lines {
            if line.hasPrefix(" ") || line.hasPrefix("\t") {
                guard !fields.isEmpty else { return "a continuation line before the first field" }
                fields[fields.count - 1].value += line
            } else {
                guard let colon = line.firstIndex(of: ":") else { return "a header line without a colon: \(line)" }
                fields.append((String(line[..<colon]), String(line[line.index(after: colon)...])))
            }
        }
        guard fields.map(\.name) == expectedFields else { return "header fields \(fields.map(\.name))" }
        let values = Dictionary(uniqueKeysWithValues: fields.map { ($0.name, $0.value) })

        if values["To"] != " " + to { return "To is \(values["To"] ?? "")" }
        let subjectText = decoded(values["Subject"] ?? "")
        if subjectText != subject { return "Subject decodes to \(subjectText.debugDescription)" }

        let name = from.name.trimmingCharacters(in: .whitespaces)
        let fromValue = values["From"] ?? ""
        if name.isEmpty {
            if fromValue != " " + from.address { return "From is \(fromValue)" }
        } else {
            let suffix = " <\(from.address)>"
            guard fromValue.hasSuffix(suffix) else { return "From does not end with the address: \(fromValue)" }
            let displayName = decoded(String(fromValue.dropLast(suffix.count)), quoted: true)
            if displayName != name { return "the From display name decodes to \(displayName.debugDescription)" }
        }
        return nil
    }

    /// An unfolded header value (with its leading space) as text: RFC 2047 `=?UTF-8?B?…?=` words
    /// joined without the spaces between them, a quoted string unquoted (display names only),
    /// or the value itself.
    static func decoded(_ value: String, quoted: Bool = false) -> String {
        let text = value.hasPrefix(" ") ? String(value.dropFirst()) : value
        let tokens = text.split(separator: " ", omittingEmptySubsequences: false)
        let prefix = "=?UTF-8?B?", suffix = "?="
        if !tokens.isEmpty, tokens.allSatisfy({ $0.hasPrefix(prefix) && $0.hasSuffix(suffix) && $0.count > 12 }) {
            var bytes: [UInt8] = []
            for token in tokens {
                guard let data = Data(base64Encoded: String(token.dropFirst(prefix.count).dropLast(suffix.count)))
                else { return "<invalid base64 in \(token)>" }
                bytes += data
            }
            return String(decoding: bytes, as: UTF8.self)
        }
        if quoted, text.count >= 2, text.hasPrefix("\""), text.hasSuffix("\"") {
            var result = "", escaped = false
            for character in text.dropFirst().dropLast() {
                if !escaped && character == "\\" { escaped = true; continue }
                result.append(character)
                escaped = false
            }
            return result
        }
        return text
    }

    /// Where the first CRLF CRLF starts, after checking in one pass that every CR is followed
    /// by LF and every LF follows a CR; `nil` when that fails or there is no empty line.
    private static func headerEnd(_ message: [UInt8]) -> Int? {
        message.withUnsafeBufferPointer { bytes in
            var end: Int?
            var index = 0
            while index < bytes.count {
                switch bytes[index] {
                case 0x0D:
                    guard index + 1 < bytes.count, bytes[index + 1] == 0x0A else { return nil }
                    if end == nil, index + 3 < bytes.count, bytes[index + 2] == 0x0D, bytes[index + 3] == 0x0A {
                        end = index
                    }
                    index += 2
                case 0x0A:
                    return nil  // an LF not consumed as the end of a CRLF
                default:
                    index += 1
                }
            }
            return end
        }
    }
}

import Foundation
import Testing

@testable import ContactVerifyDelivery

@Suite("MIME message")
struct MIMEMessageTests {
    /// 2026-11-21T10:00:00Z, a Saturday.
    static let date = Date(timeIntervalSince1970: 1_795_255_200)

    static func build(
        fromName: String = "ContactVerify", fromAddress: String = "no-reply@example.com", to: String = "ann@example.com",
        subject: String = "Your Acme verification code", text: String = "Hello Ann,\n\nYour code is 012345.\n",
        html: String = "<p>Hello Ann,</p>\n<p>Your code is <b>012345</b>.</p>\n", messageID: String = "msg_1@contact-verify.local"
    ) throws(MIMEError) -> [UInt8] {
        try MIMEMessage.build(
            fromName: fromName, fromAddress: fromAddress, to: to, subject: subject, text: text, html: html, date: date,
            messageID: messageID)
    }

    /// Every line ends with CRLF, no bare CR or LF, only ASCII, and no line over 998 octets.
    static func checkLines(_ bytes: [UInt8]) {
        #expect(bytes.allSatisfy { $0 < 0x80 })
        #expect(bytes.suffix(2) == [13, 10])
        var lineLength = 0
        for (index, byte) in bytes.enumerated() {
            if byte == 13 {
                #expect(index + 1 < bytes.count && bytes[index + 1] == 10, "bare CR at \(index)")
            } else if byte == 10 {
                #expect(index > 0 && bytes[index - 1] == 13, "bare LF at \(index)")
                #expect(lineLength - 1 <= 998)
                lineLength = 0
                continue
            }
            lineLength += 1
        }
    }

    @Test("headers and both parts parse back")
    func parsesBack() throws {
        let bytes = try Self.build()
        Self.checkLines(bytes)
        let message = try ParsedMessage(bytes)
        #expect(message.header("From") == "\"ContactVerify\" <no-reply@example.com>")
        #expect(message.header("To") == "ann@example.com")
        #expect(message.header("Subject") == "Your Acme verification code")
        #expect(message.header("Date") == "Sat, 21 Nov 2026 10:00:00 +0000")
        #expect(message.header("Message-ID") == "<msg_1@contact-verify.local>")
        #expect(message.header("MIME-Version") == "1.0")
        #expect(message.header("Content-Type")?.hasPrefix("multipart/alternative;") == true)
        #expect(message.headers.map(\.name) == [
            "Date", "From", "To", "Subject", "Message-ID", "MIME-Version", "Auto-Submitted", "Content-Type",
        ])
        try #require(message.parts.count == 2)
        #expect(message.parts[0].headers.first { $0.name == "Content-Type" }?.value == "text/plain; charset=UTF-8")
        #expect(message.parts[1].headers.first { $0.name == "Content-Type" }?.value == "text/html; charset=UTF-8")
        #expect(message.parts.allSatisfy { $0.headers.contains { $0.name == "Content-Transfer-Encoding" && $0.value == "base64" } })
        #expect(message.parts[0].text == "Hello Ann,\r\n\r\nYour code is 012345.\r\n")
        #expect(message.parts[1].text == "<p>Hello Ann,</p>\r\n<p>Your code is <b>012345</b>.</p>\r\n")
    }

    @Test("base64 body lines are at most 76 characters")
    func base64LineLength() throws {
        let long = String(repeating: "验证码 0123456789 ", count: 200)
        let message = try ParsedMessage(try Self.build(text: long, html: "<p>\(long)</p>"))
        let bodyLines = message.body.components(separatedBy: "\r\n")
        #expect(bodyLines.allSatisfy { $0.utf8.count <= 76 })
        #expect(bodyLines.filter { $0.utf8.count == 76 }.count > 10)
        #expect(message.parts[0].text == long)
    }

    @Test("two messages get different boundaries")
    func randomBoundary() throws {
        let first = try ParsedMessage(try Self.build()).header("Content-Type")
        let second = try ParsedMessage(try Self.build()).header("Content-Type")
        #expect(first != second)
    }

    @Test("a Chinese subject is RFC 2047 encoded, folded, and decodes back")
    func chineseSubject() throws {
        let subject = "您的Acme验证码：请在 10 分钟内完成验证，请勿将验证码告诉任何人，Acme 不会向您索取验证码。"
        let bytes = try Self.build(subject: subject)
        Self.checkLines(bytes)
        let message = try ParsedMessage(bytes)
        let raw = try #require(message.header("Subject"))
        #expect(raw.hasPrefix("=?UTF-8?B?"))
        #expect(ParsedMessage.decodeEncodedWords(raw) == subject)
        let subjectLines = message.rawHeaderLines.drop { !$0.hasPrefix("Subject:") }.prefix { $0.hasPrefix("Subject:") || $0.hasPrefix(" ") }
        #expect(subjectLines.count > 1)
        #expect(subjectLines.allSatisfy { $0.utf8.count <= 76 })
        for word in raw.split(separator: " ") {
            #expect(word.hasPrefix("=?UTF-8?B?") && word.hasSuffix("?="))
            #expect(word.utf8.count <= 75)
        }
    }

    @Test("a long ASCII subject is encoded and folded; one that looks encoded is encoded")
    func longASCIISubject() throws {
        let subject = String(repeating: "Confirm your address ", count: 8).trimmingCharacters(in: .whitespaces)
        let message = try ParsedMessage(try Self.build(subject: subject))
        #expect(message.rawHeaderLines.allSatisfy { $0.utf8.count <= 78 })
        #expect(ParsedMessage.decodeEncodedWords(message.header("Subject") ?? "") == subject)
        let tricky = try ParsedMessage(try Self.build(subject: "=?UTF-8?B?ZXZpbA==?="))
        #expect(ParsedMessage.decodeEncodedWords(tricky.header("Subject") ?? "") == "=?UTF-8?B?ZXZpbA==?=")
    }

    @Test("display names: quoted and escaped when ASCII, encoded words otherwise, bare address when empty")
    func displayNames() throws {
        #expect(try ParsedMessage(try Self.build(fromName: #"Acme "Support" \ Team"#)).header("From")
            == #""Acme \"Support\" \\ Team" <no-reply@example.com>"#)
        let chinese = try ParsedMessage(try Self.build(fromName: "联系人验证")).header("From") ?? ""
        #expect(chinese.hasPrefix("=?UTF-8?B?"))
        #expect(chinese.hasSuffix(" <no-reply@example.com>"))
        #expect(ParsedMessage.decodeEncodedWords(chinese) == "联系人验证 <no-reply@example.com>")
        #expect(try ParsedMessage(try Self.build(fromName: "")).header("From") == "no-reply@example.com")
    }

    @Test("header injection through the display name or subject throws", arguments: [
        "Bob\r\nBcc: evil@x", "Bob\nBcc: evil@x", "Bob\rBcc: evil@x", "Bob\u{0}", "Bob\u{85}Bcc: evil@x",
        "Bob\u{2028}Bcc: evil@x", "Bob\u{2029}", "Bob\tTab", "Bob\u{1B}[31m",
    ])
    func headerInjection(value: String) {
        #expect(throws: MIMEError.invalidHeaderValue(field: "From")) { try Self.build(fromName: value) }
        #expect(throws: MIMEError.invalidHeaderValue(field: "Subject")) { try Self.build(subject: value) }
    }

    @Test("percent-encoded line breaks stay harmless text")
    func percentEncodedBreaks() throws {
        let message = try ParsedMessage(try Self.build(fromName: "Bob%0d%0aBcc: a@evil", subject: "Hi%250d%250aBcc: a@evil"))
        #expect(message.headers(named: "Bcc").isEmpty)
        #expect(message.header("Subject") == "Hi%250d%250aBcc: a@evil")
    }

    @Test("an address that could add a header or recipient throws", arguments: [
        "v@x.com\r\nBcc: a@evil.com", "v@x.com\nBcc: a@evil.com", "v@x.com,a@evil.com", "v@x.com a@evil.com",
        "v@x.com%0acc:a@evil.com", "Bob <v@x.com>", "v@@x.com", "v@x.com@evil.com", "", "@x.com", "v@", "a\u{0}@x.com",
        "\"a b\"@x.com", "v@[127.0.0.1]", "ü@x.com", "v@x..com", ".v@x.com", "v.@x.com", "v@x.com;a@evil.com",
    ])
    func badAddresses(address: String) {
        #expect(throws: MIMEError.invalidAddress(field: "To")) { try Self.build(to: address) }
        #expect(throws: MIMEError.invalidAddress(field: "From")) { try Self.build(fromAddress: address) }
    }

    @Test("plausible addresses are accepted")
    func goodAddresses() throws {
        for address in ["alice+promo@example.com", "a.b-c_d@xn--bcher-kva.example", "no-reply@localhost", "x@a.io"] {
            _ = try Self.build(to: address)
        }
    }

    @Test("a bad Message-ID throws, one in angle brackets is accepted")
    func messageIDs() throws {
        #expect(throws: MIMEError.invalidMessageID) { try Self.build(messageID: "msg_1\r\nBcc: x@y") }
        #expect(throws: MIMEError.invalidMessageID) { try Self.build(messageID: "no-at-sign") }
        #expect(throws: MIMEError.invalidMessageID) { try Self.build(messageID: "a b@c") }
        #expect(try ParsedMessage(try Self.build(messageID: "<msg_2@host>")).header("Message-ID") == "<msg_2@host>")
    }

    @Test("a body line that is just a dot, and mixed line endings, arrive intact")
    func dotLineSurvives() throws {
        let text = "Hello\n.\nBye\r\n.\r\rEnd"
        let bytes = try Self.build(text: text, html: ".\n")
        Self.checkLines(bytes)
        let raw = String(decoding: bytes, as: UTF8.self)
        #expect(!raw.components(separatedBy: "\r\n").contains("."))
        let message = try ParsedMessage(bytes)
        #expect(message.parts[0].text == "Hello\r\n.\r\nBye\r\n.\r\n\r\nEnd")
        #expect(message.parts[1].text == ".\r\n")
    }

    @Test("the user-controlled values never create extra headers")
    func noExtraHeaders() throws {
        let message = try ParsedMessage(
            try Self.build(
                fromName: "Name: with colon", subject: "Subject: Bcc: evil@x.com",
                text: "\r\nBcc: evil@x.com\r\n", html: "\r\n\r\nTo: evil@x.com"))
        #expect(message.headers(named: "Bcc").isEmpty)
        #expect(message.headers(named: "To") == ["ann@example.com"])
        #expect(message.headers.count == 8)
    }

    @Test("RFC 3339 and RFC 5322 dates are UTC")
    func dates() {
        #expect(UTCDate.rfc5322(Self.date) == "Sat, 21 Nov 2026 10:00:00 +0000")
        #expect(UTCDate.rfc3339(Self.date.addingTimeInterval(0.25)) == "2026-11-21T10:00:00.250Z")
        #expect(UTCDate.rfc5322(Date(timeIntervalSince1970: 0)) == "Thu, 01 Jan 1970 00:00:00 +0000")
    }
}

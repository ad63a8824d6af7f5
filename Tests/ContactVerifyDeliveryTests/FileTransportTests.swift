import ContactVerifyCore
import Foundation
import Testing

@testable import ContactVerifyDelivery

@Suite("File transport")
struct FileTransportTests {
    static let email = RenderedEmail(
        subject: "您的Acme验证码", text: "Your code is 012345.\n.\n", html: "<p>Your code is <b>012345</b>.</p>\n")

    static func smsLines(_ transport: FileTransport) throws -> [[String: String]] {
        let text = try String(contentsOfFile: transport.smsFile, encoding: .utf8)
        #expect(text.hasSuffix("\n"))
        return try text.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map { line in
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8))
            return try #require(object as? [String: String])
        }
    }

    @Test("an email becomes a complete .eml named after the message id")
    func writesEmail() async throws {
        let directory = try TestSupport.makeTemporaryDirectory()
        defer { TestSupport.removeItem(directory) }
        let transport = FileTransport(directory: directory, fromName: "ContactVerify", fromAddress: "no-reply@localhost")
        let receipt = try await transport.deliver(
            OutboundMessage(id: "msg_abc", channel: .email, to: "ann@example.com", email: Self.email))
        let path = directory + "/email/msg_abc.eml"
        #expect(receipt.providerMessageID == path)
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        let message = try ParsedMessage(bytes)
        #expect(message.header("From") == "\"ContactVerify\" <no-reply@localhost>")
        #expect(message.header("To") == "ann@example.com")
        #expect(message.header("Message-ID") == "<msg_abc@contact-verify.local>")
        #expect(ParsedMessage.decodeEncodedWords(message.header("Subject") ?? "") == "您的Acme验证码")
        #expect(message.parts.map(\.text) == ["Your code is 012345.\r\n.\r\n", "<p>Your code is <b>012345</b>.</p>\r\n"])
        let permissions = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        #expect(permissions == 0o600)
    }

    @Test("delivering the same id again replaces the file and leaves no temporary files")
    func emailIsIdempotent() async throws {
        let directory = try TestSupport.makeTemporaryDirectory()
        defer { TestSupport.removeItem(directory) }
        let transport = FileTransport(directory: directory, fromName: "ContactVerify", fromAddress: "no-reply@localhost")
        var second = Self.email
        second.text = "second"
        _ = try await transport.deliver(OutboundMessage(id: "msg_same", channel: .email, to: "ann@example.com", email: Self.email))
        _ = try await transport.deliver(OutboundMessage(id: "msg_same", channel: .email, to: "ann@example.com", email: second))
        let files = try FileManager.default.contentsOfDirectory(atPath: directory + "/email")
        #expect(files == ["msg_same.eml"])
        let message = try ParsedMessage([UInt8](Data(contentsOf: URL(fileURLWithPath: directory + "/email/msg_same.eml"))))
        #expect(message.parts.first?.text == "second")
    }

    @Test("SMS become JSON lines with id, to, text and an RFC 3339 time")
    func appendsSMS() async throws {
        let directory = try TestSupport.makeTemporaryDirectory()
        defer { TestSupport.removeItem(directory) }
        let transport = FileTransport(directory: directory, fromName: "ContactVerify", fromAddress: "no-reply@localhost")
        let text = "【Acme】您的验证码为 012345。\n\"quoted\" \\ \u{2028} \u{1}"
        let first = try await transport.deliver(OutboundMessage(id: "msg_1", channel: .sms, to: "+8613800138000", smsText: text))
        let second = try await transport.deliver(OutboundMessage(id: "msg_2", channel: .sms, to: "+8613800138001", smsText: "two"))
        #expect(first.providerMessageID == transport.smsFile + ":1")
        #expect(second.providerMessageID == transport.smsFile + ":2")

        let lines = try Self.smsLines(transport)
        try #require(lines.count == 2)
        #expect(lines[0]["id"] == "msg_1")
        #expect(lines[0]["to"] == "+8613800138000")
        #expect(lines[0]["text"] == text)
        #expect(lines[1]["text"] == "two")
        let at = try #require(lines[0]["at"])
        #expect(at.range(of: #"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$"#, options: .regularExpression) != nil)
        #expect(Set(lines[0].keys) == ["id", "to", "text", "at"])
    }

    @Test("line numbers continue across instances, after a torn last line")
    func lineNumbersContinue() async throws {
        let directory = try TestSupport.makeTemporaryDirectory()
        defer { TestSupport.removeItem(directory) }
        let first = FileTransport(directory: directory, fromName: "", fromAddress: "no-reply@localhost")
        _ = try await first.deliver(OutboundMessage(id: "msg_1", channel: .sms, to: "+1", smsText: "a"))
        // Simulate a crash mid-append: a partial line without its newline.
        let handle = try #require(FileHandle(forWritingAtPath: first.smsFile))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data("{\"id\":\"msg_torn".utf8))
        try handle.close()
        let second = FileTransport(directory: directory, fromName: "", fromAddress: "no-reply@localhost")
        let receipt = try await second.deliver(OutboundMessage(id: "msg_3", channel: .sms, to: "+1", smsText: "c"))
        #expect(receipt.providerMessageID == first.smsFile + ":3")
        let lines = try String(contentsOfFile: first.smsFile, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 3)
        #expect(lines[2].hasPrefix("{\"id\":\"msg_3\""))
    }

    @Test("concurrent SMS appends never interleave")
    func concurrentAppends() async throws {
        let directory = try TestSupport.makeTemporaryDirectory()
        defer { TestSupport.removeItem(directory) }
        let transport = FileTransport(directory: directory, fromName: "", fromAddress: "no-reply@localhost")
        let body = String(repeating: "验证码 012345 ", count: 50)
        let receipts = try await withThrowingTaskGroup(of: DeliveryReceipt.self) { group in
            for index in 0..<50 {
                group.addTask {
                    try await transport.deliver(OutboundMessage(id: "msg_\(index)", channel: .sms, to: "+1", smsText: body))
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        let numbers = Set(receipts.compactMap { $0.providerMessageID?.split(separator: ":").last.flatMap { Int($0) } })
        #expect(numbers == Set(1...50))
        let lines = try Self.smsLines(transport)
        #expect(lines.count == 50)
        #expect(Set(lines.compactMap { $0["id"] }).count == 50)
        #expect(lines.allSatisfy { $0["text"] == body })
    }

    @Test("unsafe ids, missing content and refused headers fail permanently")
    func permanentFailures() async throws {
        let directory = try TestSupport.makeTemporaryDirectory()
        defer { TestSupport.removeItem(directory) }
        let transport = FileTransport(directory: directory, fromName: "ContactVerify", fromAddress: "no-reply@localhost")
        let cases: [(OutboundMessage, String)] = [
            (OutboundMessage(id: "../escape", channel: .email, to: "ann@example.com", email: Self.email), "invalid_message_id"),
            (OutboundMessage(id: "msg/1", channel: .sms, to: "+1", smsText: "x"), "invalid_message_id"),
            (OutboundMessage(id: "msg_1", channel: .email, to: "ann@example.com"), "missing_content"),
            (OutboundMessage(id: "msg_1", channel: .sms, to: "+1"), "missing_content"),
            (OutboundMessage(id: "msg_1", channel: .email, to: "ann@example.com\r\nBcc: evil@x.com", email: Self.email), "invalid_message"),
        ]
        for (message, code) in cases {
            await #expect {
                try await transport.deliver(message)
            } throws: { error in
                guard let error = error as? DeliveryError else { return false }
                return error.kind == .permanent && error.code == code
            }
        }
        #expect(!FileManager.default.fileExists(atPath: directory + "/escape.eml"))
    }

    @Test("an unwritable folder is a transient failure")
    func unwritableFolder() async throws {
        let directory = try TestSupport.makeTemporaryDirectory()
        defer { TestSupport.removeItem(directory) }
        // A regular file where the folder should be.
        #expect(FileManager.default.createFile(atPath: directory + "/blocked", contents: Data()))
        let transport = FileTransport(directory: directory + "/blocked", fromName: "", fromAddress: "no-reply@localhost")
        await #expect {
            try await transport.deliver(OutboundMessage(id: "msg_1", channel: .email, to: "ann@example.com", email: Self.email))
        } throws: { error in
            (error as? DeliveryError)?.kind == .transient
        }
    }

    @Test("JSON strings escape quotes, backslashes, control characters and line separators")
    func jsonEscaping() {
        #expect(FileTransport.jsonString("a\"b\\c\nd\u{1}\u{2028}é") == #""a\"b\\c\nd\u0001\u2028é""#)
    }
}

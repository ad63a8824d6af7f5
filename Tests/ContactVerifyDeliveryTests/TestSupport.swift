import Foundation

/// Paths and small helpers shared by the delivery tests.
enum TestSupport {
    /// The repository's `templates/` folder.
    static var templatesDirectory: String {
        URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent()  // ContactVerifyDeliveryTests
            .deletingLastPathComponent()  // Tests
            .deletingLastPathComponent()  // repository root
            .appendingPathComponent("templates").path
    }

    /// A fresh, empty temporary folder.
    static func makeTemporaryDirectory() throws -> String {
        let path = FileManager.default.temporaryDirectory
            .appendingPathComponent("cv-delivery-tests-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// A temporary copy of the shipped templates.
    static func copyOfTemplates() throws -> String {
        let root = try makeTemporaryDirectory()
        let copy = root + "/templates"
        try FileManager.default.copyItem(atPath: templatesDirectory, toPath: copy)
        return copy
    }

    /// A fresh override folder holding one template, `<locale>/<name>.mustache`.
    static func makeOverrideDirectory(_ name: String, _ text: String, locale: String = "en") throws -> String {
        let root = try makeTemporaryDirectory()
        try FileManager.default.createDirectory(atPath: root + "/" + locale, withIntermediateDirectories: true)
        try text.write(toFile: root + "/\(locale)/\(name).mustache", atomically: true, encoding: .utf8)
        return root
    }

    static func removeItem(_ path: String) {
        try? FileManager.default.removeItem(atPath: path)
    }
}

/// A MIME message split back into parts, for assertions.
struct ParsedMessage {
    /// Raw header block lines (still folded), without the final empty line.
    var rawHeaderLines: [String]
    /// Unfolded headers, in order.
    var headers: [(name: String, value: String)]
    /// Everything after the first CRLFCRLF.
    var body: String
    /// Decoded parts of a multipart body: content type → decoded text.
    var parts: [(headers: [(name: String, value: String)], text: String)]

    func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    func headers(named name: String) -> [String] {
        headers.filter { $0.name.lowercased() == name.lowercased() }.map(\.value)
    }

    init(_ bytes: [UInt8]) throws {
        let text = String(decoding: bytes, as: UTF8.self)
        guard let split = text.range(of: "\r\n\r\n") else { throw ParseFailure("no header/body separator") }
        let headerBlock = String(text[..<split.lowerBound])
        body = String(text[split.upperBound...])
        rawHeaderLines = headerBlock.components(separatedBy: "\r\n")
        headers = try Self.unfold(rawHeaderLines)
        parts = []
        if let contentType = headers.first(where: { $0.name.lowercased() == "content-type" })?.value,
            let boundaryRange = contentType.range(of: "boundary=\"")
        {
            let rest = contentType[boundaryRange.upperBound...]
            guard let end = rest.firstIndex(of: "\"") else { throw ParseFailure("unterminated boundary") }
            let boundary = String(rest[..<end])
            guard body.contains("\r\n--" + boundary + "--\r\n") else { throw ParseFailure("no closing boundary") }
            let sections = body.components(separatedBy: "--" + boundary)
            for section in sections.dropFirst() where !section.hasPrefix("--") {
                guard let partSplit = section.range(of: "\r\n\r\n") else { throw ParseFailure("part without headers") }
                let partHeaders = try Self.unfold(
                    String(section[..<partSplit.lowerBound].trimmingPrefix("\r\n")).components(separatedBy: "\r\n"))
                let encoded = section[partSplit.upperBound...].replacingOccurrences(of: "\r\n", with: "")
                guard let data = Data(base64Encoded: encoded), let decoded = String(data: data, encoding: .utf8) else {
                    throw ParseFailure("part is not base64 UTF-8")
                }
                parts.append((partHeaders, decoded))
            }
        }
    }

    private static func unfold(_ lines: [String]) throws -> [(name: String, value: String)] {
        var result: [(name: String, value: String)] = []
        for line in lines {
            if line.hasPrefix(" ") || line.hasPrefix("\t") {
                guard !result.isEmpty else { throw ParseFailure("continuation without header") }
                result[result.count - 1].value += line
            } else {
                guard let colon = line.firstIndex(of: ":") else { throw ParseFailure("header line without colon: \(line)") }
                let value = line[line.index(after: colon)...].drop { $0 == " " }
                result.append((String(line[..<colon]), String(value)))
            }
        }
        return result
    }

    /// Decodes a header value made of RFC 2047 B-encoded UTF-8 words (and plain text).
    static func decodeEncodedWords(_ value: String) -> String {
        var bytes: [UInt8] = []
        var plain = ""
        for token in value.split(whereSeparator: { $0 == " " || $0 == "\t" }) {
            if token.hasPrefix("=?UTF-8?B?"), token.hasSuffix("?="),
                let data = Data(base64Encoded: String(token.dropFirst(10).dropLast(2)))
            {
                bytes += data
            } else {
                plain += (plain.isEmpty && bytes.isEmpty ? "" : " ") + token
            }
        }
        return String(decoding: bytes, as: UTF8.self) + plain
    }
}

struct ParseFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

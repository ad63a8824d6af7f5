import Foundation
import Testing

/// Reads what the file transport delivered, as a recipient would: the codes and links in the
/// `.eml` files (their base64 MIME parts decoded) and in `sms.jsonl`.
struct Outbox {
    let directory: String

    struct Delivered: Equatable {
        var to: String
        var text: String
    }

    /// Every email, oldest first (by file modification time, then name).
    func emails() throws -> [Delivered] {
        let folder = directory + "/email"
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder) else { return [] }
        return try names.filter { $0.hasSuffix(".eml") }.map { folder + "/" + $0 }
            .sorted { try modified($0) < modified($1) || (modified($0) == modified($1) && $0 < $1) }
            .map { path in try Self.parseEmail(String(contentsOfFile: path, encoding: .utf8)) }
    }

    /// Every SMS, oldest first.
    func sms() throws -> [Delivered] {
        guard let text = try? String(contentsOfFile: directory + "/sms.jsonl", encoding: .utf8) else { return [] }
        return try text.split(separator: "\n").map { line in
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            return Delivered(to: try #require(object["to"] as? String), text: try #require(object["text"] as? String))
        }
    }

    /// Every message of both channels.
    func all() throws -> [Delivered] { try emails() + sms() }

    /// The code in the last message to `to`.
    func lastCode(to: String) throws -> String {
        let message = try #require(try all().last { $0.to == to }, "no message to \(to)")
        let match = try #require(message.text.firstMatch(of: /\b(\d{4,10})\b/), "no code in: \(message.text)")
        return String(match.1)
    }

    /// The link token in the last message to `to`.
    func lastToken(to: String) throws -> String {
        let message = try #require(try all().last { $0.to == to }, "no message to \(to)")
        let match = try #require(message.text.firstMatch(of: /\/verify\/([A-Za-z0-9_-]+)/), "no link in: \(message.text)")
        return String(match.1)
    }

    private func modified(_ path: String) throws -> Date {
        try FileManager.default.attributesOfItem(atPath: path)[.modificationDate] as? Date ?? .distantPast
    }

    /// The recipient and the decoded text/plain part of a MIME message.
    static func parseEmail(_ raw: String) throws -> Delivered {
        let lines = raw.components(separatedBy: "\r\n")
        let to = try #require(lines.first { $0.hasPrefix("To: ") }).dropFirst(4)
        let plainStart = try #require(lines.firstIndex { $0.hasPrefix("Content-Type: text/plain") })
        let bodyStart = try #require(lines[plainStart...].firstIndex(of: "")) + 1
        let encoded = lines[bodyStart...].prefix { !$0.isEmpty && !$0.hasPrefix("--") }.joined()
        let data = try #require(Data(base64Encoded: encoded))
        return Delivered(to: String(to), text: String(decoding: data, as: UTF8.self))
    }
}

extension TestApp {
    /// What the file transport delivered so far.
    var outbox: Outbox { Outbox(directory: outboxDirectory) }
}

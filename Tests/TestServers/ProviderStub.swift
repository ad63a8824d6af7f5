import Foundation

/// `scripts/servers/provider_stub.py` in a child process: a strict impersonation of Kannel,
/// Twilio, Vonage and Alibaba Cloud that logs every request it receives to a JSONL file
/// (or its sibling `chatbot_stub.py` for DingTalk, Lark, WeCom and Standard Webhooks).
public final class ProviderStub: @unchecked Sendable {
    // Safety: `process` is only touched by `start` (before the value is shared) and `stop`.
    /// The repository's `scripts/servers` folder.
    public static let serversDirectory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("scripts/servers").path

    /// The stub's own temporary folder (removed by ``stop()``).
    public let directory: String
    /// The JSONL file every request is appended to.
    public let logPath: String
    /// The port the stub listens on (127.0.0.1).
    public private(set) var port = 0
    private let process = Process()

    /// The stub's default credentials (see the script's `--help`).
    public static let kannelUser = "kannel-user", kannelPassword = "kannel-pass"
    public static let twilioSID = "AC00000000000000000000000000000001", twilioToken = "twilio-token"
    public static let vonageKey = "vonage-key", vonageSecret = "vonage-secret"
    public static let aliyunKeyID = "LTAI-test-id", aliyunSecret = "aliyun-secret", aliyunSignName = "阿里云短信测试"
    public static let aliyunTemplate = "SMS_0001", aliyunLinkTemplate = "SMS_0002"

    /// `http://127.0.0.1:<port>`.
    public var baseURL: String { "http://127.0.0.1:\(port)" }

    private init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("cv-provider-stub-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        logPath = directory + "/requests.jsonl"
    }

    /// Starts a stub on a free port; returns once it listens (it prints the port after binding).
    /// `script` is `provider_stub.py` (SMS providers) or `chatbot_stub.py` (chatbot robots);
    /// both log in the same format. `arguments` are passed on (for example `--fail-percent`).
    public static func start(script: String = "provider_stub.py", arguments: [String] = []) async throws -> ProviderStub {
        let stub = try ProviderStub()
        let output = Pipe.forChild()
        stub.process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        stub.process.arguments = ["python3", serversDirectory + "/" + script, "--port", "0", "--log", stub.logPath] + arguments
        stub.process.standardOutput = output
        try stub.process.spawn()
        let handle = output.fileHandleForReading
        let line = await onOwnThread {
            var data = Data()
            while !data.contains(UInt8(ascii: "\n")) {
                let chunk = handle.availableData
                if chunk.isEmpty { break }
                data.append(chunk)
            }
            return String(decoding: data, as: UTF8.self)
        }
        guard let port = Int(line.trimmingCharacters(in: .whitespacesAndNewlines)), port > 0 else {
            stub.stop()
            throw TestServerError("the provider stub did not print its port: \(line)")
        }
        stub.port = port
        return stub
    }

    /// Kills the stub (`killAndWait()`) and removes its folder.
    public func stop() {
        process.killAndWait()
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// One logged request.
    public struct Record: Sendable {
        public var provider: String?
        public var method: String
        public var path: String
        public var query: String
        public var headers: [String: String]
        public var body: String
        public var fields: [(String, String)]
        public var problems: [String]
        public var status: Int
        public var answer: String
        /// Whether the answer was held (the stub's `--hold-file` existed when it arrived).
        public var held: Bool

        /// The value of the first field called `name` (form body or query), if any.
        public func field(_ name: String) -> String? { fields.first { $0.0 == name }?.1 }
        /// The names of the fields, in order.
        public var fieldNames: [String] { fields.map(\.0) }
    }

    /// Polls the log every 20 ms until `condition` holds for the requests received so far and
    /// returns them; throws once `seconds` pass without it (`what` names the wait).
    public func waitForRequests(
        _ what: String, seconds: Double = 20, until condition: ([Record]) -> Bool
    ) async throws -> [Record] {
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        while true {
            let records = try requests()
            if condition(records) { return records }
            guard ContinuousClock.now < deadline else {
                throw TestServerError("timed out after \(seconds) s waiting for \(what); the stub saw \(records.count) requests")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// Every request received so far, in order.
    public func requests() throws -> [Record] {
        guard let text = try? String(contentsOfFile: logPath, encoding: .utf8) else { return [] }
        return try text.split(separator: "\n").map { line in
            guard let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                throw TestServerError("a provider stub log line is not a JSON object: \(line)")
            }
            let fields = (object["fields"] as? [[String]] ?? []).map { ($0[0], $0[1]) }
            return Record(
                provider: object["provider"] as? String, method: object["method"] as? String ?? "", path: object["path"] as? String ?? "",
                query: object["query"] as? String ?? "", headers: object["headers"] as? [String: String] ?? [:],
                body: object["body"] as? String ?? "", fields: fields, problems: object["problems"] as? [String] ?? [],
                status: object["status"] as? Int ?? 0, answer: object["answer"] as? String ?? "",
                held: object["held"] as? Bool ?? false)
        }
    }
}

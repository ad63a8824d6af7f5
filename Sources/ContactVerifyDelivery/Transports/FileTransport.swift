import ContactVerifyCore
import Foundation

/// The embedded default transport: writes messages to files under the data folder so a
/// newcomer sees them without an SMTP server or an SMS gateway.
///
/// - Email: `<directory>/email/<message id>.eml`, the complete MIME message. It is written to
///   a temporary file, fsynced, then renamed into place (and the folder fsynced), so a reader
///   never sees half a message; delivering the same id again replaces the file (idempotent).
/// - SMS: one JSON line `{"id":…,"to":…,"text":…,"reportUrl":…,"at":"<RFC 3339>"}` appended to
///   `<directory>/sms.jsonl` in a single `write`, under a lock, then fsynced.
///
/// Files are created `0600` and folders `0700`: they hold live codes and links. The blocking
/// file work runs on a Dispatch queue, off the Swift concurrency pool.
public final class FileTransport: MessageTransport {
    /// The provider named in metrics.
    public var providerName: String { "file" }

    /// The folder messages are written under.
    public let directory: String
    /// Display name of the `From` header.
    public let fromName: String
    /// Address of the `From` header.
    public let fromAddress: String

    /// Serializes SMS appends and remembers the line count of `sms.jsonl`.
    private let smsLog = SMSLogState()

    /// Creates a transport writing under `directory`; folders are created on first delivery.
    public init(directory: String, fromName: String, fromAddress: String) {
        self.directory = directory
        self.fromName = fromName
        self.fromAddress = fromAddress
    }

    /// The folder of `.eml` files.
    public var emailDirectory: String { directory + "/email" }
    /// The JSON-lines file of SMS messages.
    public var smsFile: String { directory + "/sms.jsonl" }

    /// Writes the message; the receipt's `providerMessageID` is the `.eml` path for email and
    /// `<sms.jsonl path>:<line number>` for SMS.
    ///
    /// - Throws: a permanent ``DeliveryError`` for a message that can never be written (unsafe
    ///   id, missing content, a header the MIME builder refuses); a transient one when the
    ///   email file cannot be written; an ambiguous one when an SMS append failed after the
    ///   write started.
    public func deliver(_ message: OutboundMessage) async throws(DeliveryError) -> DeliveryReceipt {
        guard Self.isSafeFileName(message.id) else {
            throw DeliveryError(kind: .permanent, code: "invalid_message_id", message: "message id is not a safe file name")
        }
        switch message.channel {
        case .email:
            guard let email = message.email else {
                throw DeliveryError(kind: .permanent, code: "missing_content", message: "email message without rendered email")
            }
            let bytes: [UInt8]
            do {
                bytes = try MIMEMessage.build(
                    fromName: fromName, fromAddress: fromAddress, to: message.to, subject: email.subject,
                    text: email.text, html: email.html, date: Date(), messageID: "\(message.id)@contact-verify.local")
            } catch {
                throw DeliveryError(kind: .permanent, code: "invalid_message", message: error.description)
            }
            let id = message.id
            return try await Self.offloaded { self.writeEmail(bytes, id: id) }.get()
        case .sms:
            guard let text = message.smsText else {
                throw DeliveryError(kind: .permanent, code: "missing_content", message: "SMS message without text")
            }
            let line = Self.jsonLine(id: message.id, to: message.to, text: text, reportURL: message.deliveryReportURL, at: Date())
            return try await Self.offloaded { self.appendSMS(line) }.get()
        }
    }

    // MARK: - Email

    private func writeEmail(_ bytes: [UInt8], id: String) -> Result<DeliveryReceipt, DeliveryError> {
        let folder = emailDirectory
        let finalPath = folder + "/" + id + ".eml"
        let tempPath = folder + "/." + id + "." + Self.randomSuffix() + ".tmp"
        do throws(FileIOError) {
            try FileIO.makeDirectory(folder)
            try FileIO.writeNewFile(bytes, to: tempPath)
            try FileIO.rename(tempPath, to: finalPath)
            try FileIO.syncDirectory(folder)
        } catch {
            _ = unlink(tempPath)
            return .failure(DeliveryError(kind: .transient, code: "io_error", message: error.description))
        }
        return .success(DeliveryReceipt(providerMessageID: finalPath, detail: "email written to a file"))
    }

    // MARK: - SMS

    private func appendSMS(_ line: String) -> Result<DeliveryReceipt, DeliveryError> {
        let path = smsFile
        return smsLog.withLock { knownLines in
            var started = false
            do throws(FileIOError) {
                try FileIO.makeDirectory(directory)
                var lines: Int
                var bytes = Array(line.utf8)
                if let known = knownLines {
                    lines = known
                } else {
                    let existing = try FileIO.lineCount(of: path)
                    lines = existing.lines
                    if !existing.endsWithNewline {
                        // A torn last line (a crash mid-write): end it so ours stays whole.
                        bytes.insert(UInt8(ascii: "\n"), at: 0)
                        lines += 1
                    }
                }
                started = true
                try FileIO.append(bytes, to: path)
                lines += 1
                knownLines = lines
                return .success(DeliveryReceipt(providerMessageID: "\(path):\(lines)", detail: "SMS appended to a file"))
            } catch {
                knownLines = nil
                return .failure(
                    DeliveryError(kind: started ? .ambiguous : .transient, code: "io_error", message: error.description))
            }
        }
    }

    /// `{"id":…,"to":…,"text":…,"reportUrl":…,"at":…}` and a newline; `reportUrl` (where a
    /// gateway would report delivery, so it can be tried by hand) only when there is one.
    static func jsonLine(id: String, to: String, text: String, reportURL: String? = nil, at date: Date) -> String {
        "{\"id\":\(jsonString(id)),\"to\":\(jsonString(to)),\"text\":\(jsonString(text)),"
            + (reportURL.map { "\"reportUrl\":\(jsonString($0))," } ?? "")
            + "\"at\":\(jsonString(UTCDate.rfc3339(date)))}\n"
    }

    /// A JSON string literal; control characters and U+2028/U+2029 are escaped, so the line
    /// stays one line.
    static func jsonString(_ value: String) -> String {
        var result = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F || scalar.value == 0x2028 || scalar.value == 0x2029 {
                    let hex = String(scalar.value, radix: 16)
                    result += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    result.unicodeScalars.append(scalar)
                }
            }
        }
        return result + "\""
    }

    // MARK: - Helpers

    /// Message ids become file names: letters, digits, `_` and `-` only, at most 128.
    static func isSafeFileName(_ id: String) -> Bool {
        !id.isEmpty && id.utf8.count <= 128
            && id.utf8.allSatisfy { byte in
                (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                    || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "_")
                    || byte == UInt8(ascii: "-")
            }
    }

    private static func randomSuffix() -> String {
        var generator = SystemRandomNumberGenerator()
        return String(generator.next() as UInt64, radix: 16)
    }

    /// Runs blocking file work on a Dispatch queue and waits for it without blocking a
    /// Swift concurrency thread.
    private static func offloaded(
        _ work: @escaping @Sendable () -> Result<DeliveryReceipt, DeliveryError>
    ) async -> Result<DeliveryReceipt, DeliveryError> {
        await withCheckedContinuation { continuation in
            DispatchQueue.global(qos: .utility).async { continuation.resume(returning: work()) }
        }
    }
}

/// The SMS log's lock and cached line count (`nil` until counted, or after a failure).
private final class SMSLogState: @unchecked Sendable {
    // Safety: `knownLines` is only read or written while `lock` is held.
    private let lock = NSLock()
    private var knownLines: Int?

    func withLock<T>(_ body: (inout Int?) -> T) -> T {
        lock.lock()
        defer { lock.unlock() }
        return body(&knownLines)
    }
}

/// A failed file operation, with errno's text.
struct FileIOError: Error, CustomStringConvertible {
    let operation: String
    let path: String
    let code: Int32

    var description: String { "\(operation) \(path): \(String(cString: strerror(code)))" }
}

/// Small POSIX helpers with explicit fsyncs.
enum FileIO {
    static func makeDirectory(_ path: String) throws(FileIOError) {
        do {
            try FileManager.default.createDirectory(
                atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw FileIOError(operation: "mkdir", path: path, code: errno == 0 ? EIO : errno)
        }
    }

    /// Creates `path` (which must not exist), writes every byte and fsyncs it.
    static func writeNewFile(_ bytes: [UInt8], to path: String) throws(FileIOError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw FileIOError(operation: "open", path: path, code: errno) }
        defer { _ = close(fd) }
        try writeAll(fd, bytes, path: path)
        guard fsync(fd) == 0 else { throw FileIOError(operation: "fsync", path: path, code: errno) }
    }

    /// Appends the bytes with `O_APPEND` (normally in one `write` call) and fsyncs.
    static func append(_ bytes: [UInt8], to path: String) throws(FileIOError) {
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw FileIOError(operation: "open", path: path, code: errno) }
        defer { _ = close(fd) }
        try writeAll(fd, bytes, path: path)
        guard fsync(fd) == 0 else { throw FileIOError(operation: "fsync", path: path, code: errno) }
    }

    /// One `write` for the whole buffer; continues only after a short write.
    private static func writeAll(_ fd: Int32, _ bytes: [UInt8], path: String) throws(FileIOError) {
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { buffer in
                write(fd, buffer.baseAddress! + offset, buffer.count - offset)
            }
            if written < 0 {
                if errno == EINTR { continue }
                throw FileIOError(operation: "write", path: path, code: errno)
            }
            offset += written
        }
    }

    static func rename(_ from: String, to: String) throws(FileIOError) {
        guard Foundation.rename(from, to) == 0 else { throw FileIOError(operation: "rename", path: to, code: errno) }
    }

    /// fsyncs a folder so a rename in it survives a crash.
    static func syncDirectory(_ path: String) throws(FileIOError) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw FileIOError(operation: "open", path: path, code: errno) }
        defer { _ = close(fd) }
        guard fsync(fd) == 0 else { throw FileIOError(operation: "fsync", path: path, code: errno) }
    }

    /// Newlines in the file and whether it is empty or ends with one (0 and true when absent).
    static func lineCount(of path: String) throws(FileIOError) -> (lines: Int, endsWithNewline: Bool) {
        guard FileManager.default.fileExists(atPath: path) else { return (0, true) }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw FileIOError(operation: "read", path: path, code: errno == 0 ? EIO : errno)
        }
        let lines = data.reduce(0) { $1 == UInt8(ascii: "\n") ? $0 + 1 : $0 }
        return (lines, data.last.map { $0 == UInt8(ascii: "\n") } ?? true)
    }
}

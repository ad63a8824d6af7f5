import Crypto

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The server's master secret: at least 32 random bytes from which every keyed purpose
/// (code derivation, link tokens, the argon2 pepper, event signatures, …) gets its own key.
///
/// It never appears in `description`, `debugDescription` or `dump` output: those print only the
/// length. Hand out ``subkey(_:)`` results, never the master bytes.
///
/// ## Secret file format
///
/// ``loadOrCreate(at:)`` writes **hex text**: 64 lowercase hex digits (32 bytes) and a newline,
/// mode `0600`. When reading, a file whose content (ignoring surrounding ASCII whitespace) is only
/// hex digits is decoded as hex; any other file is taken as **raw bytes**, verbatim. Either way
/// the secret must be at least 32 bytes long, or loading fails. So both
/// `openssl rand -hex 32 > secret` and `head -c 32 /dev/urandom > secret` produce valid files.
///
/// ## Changing the secret
///
/// Codes and link tokens of open verifications are derived from it, and code hashes are peppered
/// with a subkey of it: a new secret invalidates every open verification.
public struct ServerSecret: Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// The smallest accepted secret, in bytes (256 bits).
    public static let minimumByteCount = 32

    /// The master bytes. Never print, log or return them.
    private let bytes: [UInt8]

    /// A secret made of `bytes`, which must be at least ``minimumByteCount`` (32) random bytes.
    ///
    /// - Precondition: `bytes.count >= 32`. Validate untrusted input first (``init(hex:)`` does).
    public init(bytes: [UInt8]) {
        precondition(bytes.count >= Self.minimumByteCount, "a server secret needs at least 32 bytes")
        self.bytes = bytes
    }

    /// A secret from its hex spelling (for `--secret-key`), or `nil` if `hex` is not an even
    /// number of hex digits (either case, surrounding whitespace ignored) encoding at least 32 bytes.
    public init?(hex: String) {
        guard let decoded = Self.decodeHex(Self.trimmingASCIIWhitespace(Array(hex.utf8))),
              decoded.count >= Self.minimumByteCount
        else { return nil }
        self.bytes = decoded
    }

    /// A fresh secret of 32 bytes from the system CSPRNG (`SystemRandomNumberGenerator`).
    public static func random() -> ServerSecret {
        ServerSecret(bytes: randomBytes(count: minimumByteCount))
    }

    /// The number of bytes in the secret (not secret itself).
    public var byteCount: Int { bytes.count }

    /// The independent 256-bit key for one purpose, such as `"code"`, `"link"`, `"pepper"` or
    /// `"events"`.
    ///
    /// Construction (stable; changing it invalidates all derived secrets): HKDF-SHA256 (RFC 5869)
    /// with the master bytes as input key material, the UTF-8 of `"ContactVerify.ServerSecret.v1"`
    /// as salt, the UTF-8 of `label` as info, and 32 bytes of output. Different labels give
    /// computationally independent keys, so one purpose's key reveals nothing about another's.
    public func subkey(_ label: String) -> SymmetricKey {
        HKDF<SHA256>.deriveKey(
            inputKeyMaterial: SymmetricKey(data: bytes),
            salt: Array("ContactVerify.ServerSecret.v1".utf8),
            info: Array(label.utf8),
            outputByteCount: 32
        )
    }

    /// A short public identifier of this secret (8 hex digits), safe to log so operators can tell
    /// which secret a process loaded. It is derived through ``subkey(_:)`` with the label
    /// `"fingerprint"`, so it reveals nothing about the secret or its other subkeys.
    public var fingerprint: String {
        subkey("fingerprint").withUnsafeBytes { Self.encodeHex($0.prefix(4)) }
    }

    /// `ServerSecret(32 bytes, redacted)`: the length only, never the bytes.
    public var description: String { "ServerSecret(\(bytes.count) bytes, redacted)" }

    /// The same as ``description``: the length only, never the bytes.
    public var debugDescription: String { description }

    /// A mirror without children, so `dump` and reflection do not reveal the bytes.
    public var customMirror: Mirror { Mirror(self, children: [], displayStyle: .struct) }

    // MARK: Loading from a file

    /// The secret stored at `path`, creating it first if the file does not exist.
    ///
    /// A missing file is created atomically: 32 bytes from `SystemRandomNumberGenerator` are
    /// written as hex text to a temporary file in the same directory, created with `O_EXCL` and
    /// mode `0600` (never readable by others, whatever the umask), flushed with `fsync`, and then
    /// hard-linked to `path`. Linking never overwrites, so when several processes start at once
    /// exactly one file wins and every process reads that one. The directory must exist.
    ///
    /// An existing file is read as described in the type's documentation and is not rewritten
    /// (its permissions are left alone; symbolic links, as used by mounted secrets, are followed).
    ///
    /// - Throws: ``ServerSecretError/tooShort(path:byteCount:)`` for a secret under 32 bytes,
    ///   ``ServerSecretError/malformed(path:reason:)`` for odd-length hex or a file over 64 KiB,
    ///   ``ServerSecretError/io(path:operation:errno:)`` when a system call fails.
    public static func loadOrCreate(at path: String) throws(ServerSecretError) -> ServerSecret {
        // A bounded number of rounds: a file can vanish between our failed link and our read
        // only if someone deletes it concurrently.
        for _ in 0..<8 {
            if let existing = try load(at: path) {
                return existing
            }
            if let created = try create(at: path) {
                return created
            }
        }
        throw .io(path: path, operation: "create (file keeps appearing and disappearing)", errno: EAGAIN)
    }

    /// The secret at `path`, or `nil` if there is no such file.
    private static func load(at path: String) throws(ServerSecretError) -> ServerSecret? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            let error = errno
            if error == ENOENT { return nil }
            throw .io(path: path, operation: "open", errno: error)
        }
        defer { close(fd) }

        let limit = 64 * 1024
        var content: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                let error = errno
                if error == EINTR { continue }
                throw .io(path: path, operation: "read", errno: error)
            }
            if count == 0 { break }
            content.append(contentsOf: chunk[0..<count])
            if content.count > limit {
                throw .malformed(path: path, reason: "the file is larger than 64 KiB")
            }
        }
        defer { wipe(&content) }

        let trimmed = trimmingASCIIWhitespace(content)
        let secretBytes: [UInt8]
        if !trimmed.isEmpty, trimmed.allSatisfy(isHexDigit) {
            guard let decoded = decodeHex(trimmed) else {
                throw .malformed(path: path, reason: "odd number of hex digits")
            }
            secretBytes = decoded
        } else {
            secretBytes = content
        }
        guard secretBytes.count >= minimumByteCount else {
            throw .tooShort(path: path, byteCount: secretBytes.count)
        }
        return ServerSecret(bytes: secretBytes)
    }

    /// Creates the file at `path` with a fresh secret, or returns `nil` if another process
    /// created it first (the caller then reads that one).
    private static func create(at path: String) throws(ServerSecretError) -> ServerSecret? {
        let secret = ServerSecret.random()
        var text = Array(encodeHex(secret.bytes).utf8) + [UInt8(ascii: "\n")]
        defer { wipe(&text) }

        let temporaryPath = "\(path).tmp-\(encodeHex(randomBytes(count: 8)))"
        let fd = open(temporaryPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw .io(path: temporaryPath, operation: "create", errno: errno) }
        defer { unlink(temporaryPath) }
        let failure = writeAndSync(text, to: fd, path: temporaryPath)
        close(fd)
        if let failure { throw failure }

        if link(temporaryPath, path) != 0 {
            let error = errno
            if error == EEXIST { return nil }
            throw .io(path: path, operation: "link", errno: error)
        }
        syncDirectory(containing: path)
        return secret
    }

    /// Sets mode 0600 on `fd`, writes all of `text` to it and `fsync`s it; the error, if any.
    private static func writeAndSync(_ text: [UInt8], to fd: Int32, path: String) -> ServerSecretError? {
        // The umask can only remove bits from 0600; make the mode exact anyway.
        guard fchmod(fd, 0o600) == 0 else { return .io(path: path, operation: "fchmod", errno: errno) }
        var written = 0
        while written < text.count {
            let count = text.withUnsafeBytes { write(fd, $0.baseAddress! + written, $0.count - written) }
            if count < 0 {
                let error = errno
                if error == EINTR { continue }
                return .io(path: path, operation: "write", errno: error)
            }
            written += count
        }
        guard fsync(fd) == 0 else { return .io(path: path, operation: "fsync", errno: errno) }
        return nil
    }

    /// Flushes the directory entry of `path` to disk (best effort).
    private static func syncDirectory(containing path: String) {
        let directory: String
        if let slash = path.lastIndex(of: "/") {
            directory = slash == path.startIndex ? "/" : String(path[..<slash])
        } else {
            directory = "."
        }
        let fd = open(directory, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return }
        _ = fsync(fd)
        close(fd)
    }

    // MARK: Helpers

    /// `count` bytes from the system CSPRNG.
    static func randomBytes(count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        var result: [UInt8] = []
        result.reserveCapacity(count + 7)
        while result.count < count {
            withUnsafeBytes(of: generator.next() as UInt64) { result.append(contentsOf: $0) }
        }
        result.removeLast(result.count - count)
        return result
    }

    /// Overwrites `bytes` with zeros (best effort: copies made earlier are not reached).
    private static func wipe(_ bytes: inout [UInt8]) {
        for index in bytes.indices { bytes[index] = 0 }
    }

    private static func isHexDigit(_ byte: UInt8) -> Bool {
        hexValue(byte) != nil
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    private static func trimmingASCIIWhitespace(_ bytes: [UInt8]) -> ArraySlice<UInt8> {
        let isSpace: (UInt8) -> Bool = { [0x20, 0x09, 0x0A, 0x0D, 0x0B, 0x0C].contains($0) }
        guard let first = bytes.firstIndex(where: { !isSpace($0) }),
              let last = bytes.lastIndex(where: { !isSpace($0) })
        else { return [] }
        return bytes[first...last]
    }

    private static func decodeHex(_ digits: ArraySlice<UInt8>) -> [UInt8]? {
        guard digits.count % 2 == 0 else { return nil }
        var result: [UInt8] = []
        result.reserveCapacity(digits.count / 2)
        var index = digits.startIndex
        while index < digits.endIndex {
            guard let high = hexValue(digits[index]), let low = hexValue(digits[index + 1]) else { return nil }
            result.append(high << 4 | low)
            index += 2
        }
        return result
    }

    static func encodeHex(_ bytes: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        for byte in bytes {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: text, as: UTF8.self)
    }
}

/// Why ``ServerSecret/loadOrCreate(at:)`` could not produce a secret. Messages name the file,
/// never its content.
public enum ServerSecretError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file holds fewer than 32 bytes of secret (after hex decoding, if it is hex text).
    case tooShort(path: String, byteCount: Int)
    /// The file is hex text with an odd number of digits, or is larger than 64 KiB.
    case malformed(path: String, reason: String)
    /// A system call failed; `errno` is its error number.
    case io(path: String, operation: String, errno: Int32)

    /// A one-line English explanation naming the file.
    public var description: String {
        switch self {
        case let .tooShort(path, byteCount):
            "server secret \(path) holds \(byteCount) bytes; at least \(ServerSecret.minimumByteCount) are required"
        case let .malformed(path, reason):
            "server secret \(path) is malformed: \(reason)"
        case let .io(path, operation, code):
            "server secret \(path): \(operation) failed: \(String(cString: strerror(code)))"
        }
    }
}

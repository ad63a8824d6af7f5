import Crypto
import Dispatch
import Foundation
import Synchronization
import Testing

@testable import ContactVerifyCore

@Suite("Server secret: file, hex, subkeys, redaction")
struct SecretsServerSecretTests {
    /// A fresh empty directory for one test.
    func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("SecretsServerSecretTests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    func fingerprint(ofFileWith contents: [UInt8]) throws -> Result<String, ServerSecretError> {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("secret").path
        try Data(contents).write(to: URL(fileURLWithPath: path))
        return Result { () throws(ServerSecretError) in try ServerSecret.loadOrCreate(at: path).fingerprint }
    }

    static let knownBytes = Array(UInt8(0)..<32)

    // MARK: Creating and loading the file

    @Test("a missing file is created as 64 hex digits and a newline, mode 0600, and loads back the same")
    func createsFile() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("secret").path

        let created = try ServerSecret.loadOrCreate(at: path)
        let contents = try String(contentsOfFile: path, encoding: .utf8)
        #expect(contents.utf8.count == 65)
        #expect(contents.hasSuffix("\n"))
        #expect(contents.dropLast().allSatisfy { "0123456789abcdef".contains($0) })

        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        let permissions = (attributes[.posixPermissions] as? NSNumber)?.intValue
        #expect(permissions == 0o600)

        let loaded = try ServerSecret.loadOrCreate(at: path)
        #expect(loaded.fingerprint == created.fingerprint)
        #expect(ServerSecret(hex: contents)?.fingerprint == created.fingerprint)

        // Only the secret remains: the temporary file was removed after linking.
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["secret"])
    }

    @Test("two files created separately hold different secrets")
    func createdSecretsDiffer() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let first = try ServerSecret.loadOrCreate(at: directory.appendingPathComponent("a").path)
        let second = try ServerSecret.loadOrCreate(at: directory.appendingPathComponent("b").path)
        #expect(first.fingerprint != second.fingerprint)
    }

    @Test("sixteen threads creating the same file at once all end up with the one secret that won")
    func concurrentCreation() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("secret").path
        let fingerprints = LockedArray()
        DispatchQueue.concurrentPerform(iterations: 16) { _ in
            fingerprints.append((try? ServerSecret.loadOrCreate(at: path).fingerprint) ?? "failed")
        }
        let all = fingerprints.values
        #expect(all.count == 16)
        #expect(Set(all).count == 1)
        #expect(!all.contains("failed"))
        #expect(try ServerSecret.loadOrCreate(at: path).fingerprint == all[0])
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["secret"])
    }

    @Test("an existing hex file is read in either case and with surrounding whitespace")
    func readsHexFile() throws {
        let hex = ServerSecret.encodeHex(Self.knownBytes)
        let expected = ServerSecret(bytes: Self.knownBytes).fingerprint
        for text in [hex, hex.uppercased(), "  \(hex)\n", "\(hex)\r\n"] {
            #expect(try fingerprint(ofFileWith: Array(text.utf8)).get() == expected)
        }
    }

    @Test("an existing raw file of 32 or more bytes is used verbatim")
    func readsRawFile() throws {
        var raw = Self.knownBytes
        raw[0] = 0xFF  // not a hex digit, so the file is raw
        #expect(try fingerprint(ofFileWith: raw).get() == ServerSecret(bytes: raw).fingerprint)
        let long = raw + [0x0A, 0x20, 0x00]  // trailing bytes of a raw file are part of it
        #expect(try fingerprint(ofFileWith: long).get() == ServerSecret(bytes: long).fingerprint)
    }

    @Test("files holding fewer than 32 bytes of secret are refused, raw or hex")
    func refusesShortFiles() throws {
        let raw31 = [UInt8](repeating: 0xEE, count: 31)
        #expect(try fingerprint(ofFileWith: raw31).isFailure(.tooShort(path: "", byteCount: 31)))
        let hex31 = Array(ServerSecret.encodeHex(raw31).utf8)  // 62 hex digits = 31 bytes
        #expect(try fingerprint(ofFileWith: hex31).isFailure(.tooShort(path: "", byteCount: 31)))
        #expect(try fingerprint(ofFileWith: []).isFailure(.tooShort(path: "", byteCount: 0)))
        #expect(try fingerprint(ofFileWith: Array("\n".utf8)).isFailure(.tooShort(path: "", byteCount: 1)))
    }

    @Test("a hex file with an odd number of digits is refused as malformed")
    func refusesOddHex() throws {
        let odd = Array((ServerSecret.encodeHex(Self.knownBytes) + "a").utf8)
        let result = try fingerprint(ofFileWith: odd)
        guard case .failure(.malformed) = result else {
            Issue.record("expected .malformed, got \(result)")
            return
        }
    }

    @Test("a file in a missing directory fails with an I/O error that names the path")
    func missingDirectory() {
        let path = "/nonexistent-\(UUID().uuidString)/secret"
        #expect {
            try ServerSecret.loadOrCreate(at: path)
        } throws: { error in
            guard let error = error as? ServerSecretError, case .io = error else { return false }
            return error.description.contains("/nonexistent-")
        }
    }

    // MARK: Hex initializer

    @Test("init(hex:) accepts 64 or more hex digits and rejects anything shorter or not hex")
    func hexInitializer() {
        let hex = ServerSecret.encodeHex(Self.knownBytes)
        #expect(ServerSecret(hex: hex)?.byteCount == 32)
        #expect(ServerSecret(hex: " \(hex.uppercased())\n")?.byteCount == 32)
        #expect(ServerSecret(hex: hex + "0011")?.byteCount == 34)
        #expect(ServerSecret(hex: String(hex.dropLast(2))) == nil)  // 31 bytes
        #expect(ServerSecret(hex: String(hex.dropLast())) == nil)  // odd length
        #expect(ServerSecret(hex: "zz" + hex.dropFirst(2)) == nil)
        #expect(ServerSecret(hex: "") == nil)
        #expect(ServerSecret(hex: hex)?.fingerprint == ServerSecret(bytes: Self.knownBytes).fingerprint)
    }

    // MARK: Subkeys

    @Test("subkeys are 32 bytes, stable, different per label and per secret")
    func subkeys() {
        let secret = ServerSecret(bytes: Self.knownBytes)
        let labels = ["code", "link", "pepper", "events", "fingerprint"]
        let keys = labels.map { label in secret.subkey(label).withUnsafeBytes { Array($0) } }
        #expect(keys.allSatisfy { $0.count == 32 })
        #expect(Set(keys).count == labels.count)
        #expect(secret.subkey("code").withUnsafeBytes { Array($0) } == keys[0])
        let other = ServerSecret.random()
        #expect(other.subkey("code").withUnsafeBytes { Array($0) } != keys[0])
    }

    @Test("the subkey construction matches an independent HKDF-SHA256 computation")
    func subkeyKnownAnswer() {
        // Python: HKDF(salt=b"ContactVerify.ServerSecret.v1", ikm=bytes(range(32)), info=b"code")
        let secret = ServerSecret(bytes: Self.knownBytes)
        let expected = "2e0e25f90cb3a579cd62e1c0316927b3b0a5db0b319f4c071c7b0e02d6e84091"
        #expect(secret.subkey("code").withUnsafeBytes { ServerSecret.encodeHex($0) } == expected)
        #expect(secret.fingerprint == "eaacc5be")
    }

    // MARK: Redaction

    @Test("description, debugDescription, interpolation and dump never show the bytes")
    func redaction() {
        let bytes = [UInt8](repeating: 0xAB, count: 32)
        let secret = ServerSecret(bytes: bytes)
        var dumped = ""
        dump(secret, to: &dumped)
        let renderings = [
            secret.description, secret.debugDescription, "\(secret)", String(reflecting: secret), dumped,
        ]
        for text in renderings {
            #expect(!text.lowercased().contains("abab"), "\(text)")
            #expect(!text.contains("171"), "\(text)")  // 0xAB in decimal, as an array would print
            #expect(text.contains("32 bytes") || text.contains("ServerSecret"), "\(text)")
        }
    }
}

/// An array that several threads append to.
private final class LockedArray: Sendable {
    private let items = Mutex<[String]>([])

    func append(_ item: String) {
        items.withLock { $0.append(item) }
    }

    var values: [String] { items.withLock { $0 } }
}

extension Result where Failure == ServerSecretError {
    /// Whether this is the given failure, ignoring the path.
    fileprivate func isFailure(_ expected: ServerSecretError) -> Bool {
        switch (self, expected) {
        case let (.failure(.tooShort(_, actual)), .tooShort(_, wanted)): actual == wanted
        case (.failure(.malformed), .malformed): true
        case (.failure(.io), .io): true
        default: false
        }
    }
}

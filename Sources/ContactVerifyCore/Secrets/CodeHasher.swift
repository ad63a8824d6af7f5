import CArgon2
import Crypto

/// Argon2id cost parameters.
///
/// The defaults are OWASP's second recommended set (security.md S-11): 19,456 KiB (19 MiB) of
/// memory, 2 passes, 1 lane. One hash then takes about 25 ms on one core of this machine's
/// Debian build of libargon2 (the portable, non-SIMD implementation) and holds 19 MiB while it
/// runs, so concurrency must be bounded (``HashingPool``).
public struct Argon2Parameters: Sendable, Equatable, CustomStringConvertible {
    /// Memory per hash in KiB (argon2 `m`). At least 8 × ``parallelism``, at most 1 GiB.
    public var memoryKiB: Int
    /// Number of passes over the memory (argon2 `t`), 1…64.
    public var iterations: Int
    /// Number of lanes (argon2 `p`), 1…16. Lanes are computed one after another on the calling
    /// thread (libargon2 `threads` = 1), so one hash never uses more than one core; this keeps
    /// ``HashingPool``'s "one job per core" bound true.
    public var parallelism: Int

    /// Parameters with the given costs (OWASP's m = 19,456 KiB, t = 2, p = 1 by default).
    ///
    /// - Precondition: ``isAcceptable(memoryKiB:iterations:parallelism:)`` holds; check
    ///   configuration values with it first.
    public init(memoryKiB: Int = 19_456, iterations: Int = 2, parallelism: Int = 1) {
        precondition(
            Self.isAcceptable(memoryKiB: memoryKiB, iterations: iterations, parallelism: parallelism),
            "argon2 parameters out of range: m=\(memoryKiB) t=\(iterations) p=\(parallelism)"
        )
        self.memoryKiB = memoryKiB
        self.iterations = iterations
        self.parallelism = parallelism
    }

    /// OWASP's m = 19,456 KiB, t = 2, p = 1 (the default).
    public static let owasp = Argon2Parameters()

    /// Whether these costs are within the supported ranges: parallelism 1…16, iterations 1…64,
    /// memory from 8 × parallelism KiB (libargon2's minimum) to 1,048,576 KiB (1 GiB).
    ///
    /// Stored hashes whose parameters fall outside these ranges are rejected by
    /// ``CodeHasher/verify(_:phc:)`` rather than computed, so a tampered database row cannot make
    /// the server allocate gigabytes or spin for minutes.
    public static func isAcceptable(memoryKiB: Int, iterations: Int, parallelism: Int) -> Bool {
        (1...16).contains(parallelism)
            && (1...64).contains(iterations)
            && (8 * parallelism...1_048_576).contains(memoryKiB)
    }

    /// The PHC spelling, `m=19456,t=2,p=1`.
    public var description: String { "m=\(memoryKiB),t=\(iterations),p=\(parallelism)" }
}

/// Hashes and checks verification codes with argon2id (libargon2) and a server-side pepper.
///
/// A hash is a PHC string, `$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`, with a 16-byte random
/// salt and a 32-byte output, both in standard Base64 without padding, exactly as libargon2's
/// `argon2id_hash_encoded` writes it. The pepper goes into the argon2 context's `secret` input
/// (argon2's keyed mode), so the stored string alone does not allow an offline search of the
/// 10⁶ possible codes; with an empty pepper the result equals plain `argon2id_hash_encoded`.
///
/// Every call blocks its thread for the whole hash (≈ 25 ms, 19 MiB): call it through a
/// ``HashingPool``, never directly on the Swift cooperative pool or an event loop.
public struct CodeHasher: Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// Salt length of new hashes, in bytes.
    public static let saltByteCount = 16
    /// Output length of new hashes, in bytes.
    public static let hashByteCount = 32

    /// The parameters of new hashes and of ``dummyVerify(_:)``.
    public let parameters: Argon2Parameters
    private let pepper: [UInt8]
    /// Salt and expected output for ``dummyVerify(_:)``; their values do not matter.
    private let dummySalt: [UInt8]
    private let dummyHash: [UInt8]

    /// A hasher with the given pepper (argon2 `secret`; may be empty) and parameters for new hashes.
    public init(pepper: [UInt8], parameters: Argon2Parameters = .owasp) {
        self.pepper = pepper
        self.parameters = parameters
        self.dummySalt = ServerSecret.randomBytes(count: Self.saltByteCount)
        self.dummyHash = ServerSecret.randomBytes(count: Self.hashByteCount)
    }

    /// A hasher whose pepper is the bytes of `pepper`.
    public init(pepper: SymmetricKey, parameters: Argon2Parameters = .owasp) {
        self.init(pepper: pepper.withUnsafeBytes { Array($0) }, parameters: parameters)
    }

    /// A hasher whose pepper is `secret.subkey("pepper")`.
    public init(secret: ServerSecret, parameters: Argon2Parameters = .owasp) {
        self.init(pepper: secret.subkey("pepper"), parameters: parameters)
    }

    /// The PHC string of `code` under a fresh random salt and the current ``parameters``.
    /// Two calls with the same code give different strings.
    ///
    /// Blocks for the duration of one argon2id computation. Traps only if libargon2 fails, which
    /// with validated parameters means it could not allocate its memory.
    public func hash(_ code: String) -> String {
        hash(code, salt: ServerSecret.randomBytes(count: Self.saltByteCount))
    }

    /// The PHC string of `code` under `salt` (8…64 bytes); for tests and known-answer checks.
    func hash(_ code: String, salt: [UInt8]) -> String {
        guard let output = Self.argon2id(
            password: Array(code.utf8), salt: salt, secret: pepper, parameters: parameters,
            outputByteCount: Self.hashByteCount)
        else {
            fatalError("argon2id failed (out of memory?) with \(parameters)")
        }
        return Argon2PHC(parameters: parameters, salt: salt, hash: output).encoded
    }

    /// Whether `code` is the code hashed in `phc`, under this hasher's pepper.
    ///
    /// The computation uses the parameters, salt and output length recorded in `phc`, not the
    /// current ``parameters``, so hashes made before a parameter change still verify. The final
    /// comparison is constant time. A `phc` that cannot be parsed, is not argon2id v=19, or has
    /// parameters outside ``Argon2Parameters/isAcceptable(memoryKiB:iterations:parallelism:)``
    /// returns `false` after a ``dummyVerify(_:)``, so it costs the same time as a wrong code.
    public func verify(_ code: String, phc: String) -> Bool {
        guard let stored = Argon2PHC(parsing: phc) else {
            dummyVerify(code)
            return false
        }
        guard let computed = Self.argon2id(
            password: Array(code.utf8), salt: stored.salt, secret: pepper,
            parameters: stored.parameters, outputByteCount: stored.hash.count)
        else {
            return false
        }
        return ConstantTime.equals(computed, stored.hash)
    }

    /// Does the work of a ``verify(_:phc:)`` of a hash made with the current parameters, and
    /// throws the result away.
    ///
    /// Call it when the verification to check does not exist (or has no hash), so that an
    /// unknown id takes as long as a wrong code and response times reveal nothing (security.md
    /// S-13, B-35).
    public func dummyVerify(_ code: String) {
        let computed = Self.argon2id(
            password: Array(code.utf8), salt: dummySalt, secret: pepper, parameters: parameters,
            outputByteCount: Self.hashByteCount)
        _ = ConstantTime.equals(computed ?? [], dummyHash)
    }

    /// `CodeHasher(m=19456,t=2,p=1, pepper redacted)`: the pepper is never printed.
    public var description: String { "CodeHasher(\(parameters), pepper redacted)" }

    /// The same as ``description``.
    public var debugDescription: String { description }

    /// A mirror showing only the parameters, so `dump` does not reveal the pepper.
    public var customMirror: Mirror {
        Mirror(self, children: ["parameters": parameters], displayStyle: .struct)
    }

    /// Raw argon2id (version 0x13) through `argon2_ctx` (via the `cargon2_argon2id` helper in
    /// the CArgon2 shim), or `nil` if libargon2 reports an error.
    ///
    /// The input arrays stay alive and unchanged for the whole call: no `ARGON2_FLAG_CLEAR_*` flag
    /// is set, so libargon2 only reads them, and it copies nothing it keeps after returning.
    static func argon2id(
        password: [UInt8], salt: [UInt8], secret: [UInt8], associatedData: [UInt8] = [],
        parameters: Argon2Parameters, outputByteCount: Int
    ) -> [UInt8]? {
        var output = [UInt8](repeating: 0, count: outputByteCount)
        let status = output.withUnsafeMutableBufferPointer { out in
            cargon2_argon2id(
                out.baseAddress, UInt32(out.count),
                password, UInt32(password.count),
                salt, UInt32(salt.count),
                secret, UInt32(secret.count),
                associatedData, UInt32(associatedData.count),
                UInt32(parameters.iterations), UInt32(parameters.memoryKiB), UInt32(parameters.parallelism))
        }
        return status == ARGON2_OK.rawValue ? output : nil
    }
}

/// A parsed argon2id PHC string: `$argon2id$v=19$m=<KiB>,t=<passes>,p=<lanes>$<salt>$<hash>`.
///
/// Parsing is strict: argon2id only, version 19 only, parameters in the order m, t, p as
/// decimal numbers without sign or leading zeros and within
/// ``Argon2Parameters/isAcceptable(memoryKiB:iterations:parallelism:)``, a salt of 8…64 bytes and
/// a hash of 16…64 bytes in canonical unpadded standard Base64.
struct Argon2PHC: Equatable {
    var parameters: Argon2Parameters
    var salt: [UInt8]
    var hash: [UInt8]

    init(parameters: Argon2Parameters, salt: [UInt8], hash: [UInt8]) {
        self.parameters = parameters
        self.salt = salt
        self.hash = hash
    }

    /// The PHC string.
    var encoded: String {
        "$argon2id$v=19$\(parameters)$"
            + UnpaddedBase64.encode(salt, alphabet: .standard) + "$"
            + UnpaddedBase64.encode(hash, alphabet: .standard)
    }

    /// The parts of `text`, or `nil` if it is not a supported argon2id PHC string.
    init?(parsing text: String) {
        guard text.utf8.count <= 512 else { return nil }
        let fields = text.split(separator: "$", omittingEmptySubsequences: false)
        guard fields.count == 6, fields[0].isEmpty, fields[1] == "argon2id", fields[2] == "v=19"
        else { return nil }

        let assignments = fields[3].split(separator: ",", omittingEmptySubsequences: false)
        guard assignments.count == 3,
              let memory = Self.value(of: "m", in: assignments[0]),
              let iterations = Self.value(of: "t", in: assignments[1]),
              let parallelism = Self.value(of: "p", in: assignments[2]),
              Argon2Parameters.isAcceptable(memoryKiB: memory, iterations: iterations, parallelism: parallelism)
        else { return nil }

        guard let salt = UnpaddedBase64.decode(fields[4], alphabet: .standard), (8...64).contains(salt.count),
              let hash = UnpaddedBase64.decode(fields[5], alphabet: .standard), (16...64).contains(hash.count)
        else { return nil }

        self.init(
            parameters: Argon2Parameters(memoryKiB: memory, iterations: iterations, parallelism: parallelism),
            salt: salt, hash: hash)
    }

    /// The number in `name=<digits>`, or `nil` for another name, a sign, a leading zero or more
    /// than 10 digits.
    private static func value(of name: String, in assignment: Substring) -> Int? {
        let parts = assignment.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0] == name else { return nil }
        let digits = parts[1].utf8
        guard (1...10).contains(digits.count),
              digits.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }),
              digits.count == 1 || digits.first != UInt8(ascii: "0")
        else { return nil }
        return Int(parts[1])
    }
}

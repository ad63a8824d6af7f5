import CArgon2
import Dispatch
import Testing

@testable import ContactVerifyCore

@Suite("Code hasher: argon2id with a pepper, PHC strings")
struct SecretsCodeHasherTests {
    /// Cheap parameters for tests where the cost does not matter.
    static let fast = Argon2Parameters(memoryKiB: 64, iterations: 1, parallelism: 1)
    let pepper = ServerSecret.randomBytes(count: 32)

    // MARK: Format

    @Test("a hash with the default parameters is a PHC string with a 16-byte salt and a 32-byte output")
    func phcFormat() throws {
        let hasher = CodeHasher(pepper: pepper)
        #expect(hasher.parameters == Argon2Parameters(memoryKiB: 19_456, iterations: 2, parallelism: 1))
        let phc = hasher.hash("123456")
        let fields = phc.split(separator: "$", omittingEmptySubsequences: false)
        #expect(fields.count == 6)
        #expect(Array(fields.prefix(4)) == ["", "argon2id", "v=19", "m=19456,t=2,p=1"])
        #expect(fields[4].count == 22)  // 16 bytes, unpadded
        #expect(fields[5].count == 43)  // 32 bytes, unpadded
        let alphabet = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
        #expect(fields[4].allSatisfy(alphabet.contains) && fields[5].allSatisfy(alphabet.contains))
        #expect(hasher.verify("123456", phc: phc))
    }

    @Test("parsing a PHC string and encoding it again gives the same string")
    func phcRoundTrip() throws {
        let phc = CodeHasher(pepper: pepper, parameters: Self.fast).hash("042")
        let parsed = try #require(Argon2PHC(parsing: phc))
        #expect(parsed.parameters == Self.fast)
        #expect(parsed.salt.count == 16)
        #expect(parsed.hash.count == 32)
        #expect(parsed.encoded == phc)

        let custom = Argon2PHC(
            parameters: Argon2Parameters(memoryKiB: 4096, iterations: 3, parallelism: 2),
            salt: Array(0..<8), hash: Array(100..<164))
        #expect(custom.encoded.hasPrefix("$argon2id$v=19$m=4096,t=3,p=2$AAECAwQFBgc$"))
        #expect(Argon2PHC(parsing: custom.encoded) == custom)
    }

    @Test("unsupported or malformed PHC strings are rejected by the parser and never verify")
    func malformedPHC() throws {
        let hasher = CodeHasher(pepper: pepper, parameters: Self.fast)
        let good = hasher.hash("123456")
        let parts = good.split(separator: "$", omittingEmptySubsequences: false).map(String.init)
        let (salt, hash) = (parts[4], parts[5])
        let bad = [
            "", "$", "garbage", good + "$", "$" + good, good + "=", good + " ",
            "$argon2i$v=19$m=64,t=1,p=1$\(salt)$\(hash)",
            "$argon2d$v=19$m=64,t=1,p=1$\(salt)$\(hash)",
            "$argon2id$v=16$m=64,t=1,p=1$\(salt)$\(hash)",
            "$argon2id$m=64,t=1,p=1$\(salt)$\(hash)",
            "$argon2id$v=19$t=1,m=64,p=1$\(salt)$\(hash)",
            "$argon2id$v=19$m=064,t=1,p=1$\(salt)$\(hash)",
            "$argon2id$v=19$m=+64,t=1,p=1$\(salt)$\(hash)",
            "$argon2id$v=19$m=64,t=1,p=1,x=2$\(salt)$\(hash)",
            "$argon2id$v=19$m=64,t=0,p=1$\(salt)$\(hash)",
            "$argon2id$v=19$m=4,t=1,p=1$\(salt)$\(hash)",  // below 8 KiB per lane
            "$argon2id$v=19$m=4194304,t=1,p=1$\(salt)$\(hash)",  // 4 GiB: refused, not allocated
            "$argon2id$v=19$m=64,t=1000000,p=1$\(salt)$\(hash)",
            "$argon2id$v=19$m=64,t=1,p=99$\(salt)$\(hash)",
            "$argon2id$v=19$m=99999999999,t=1,p=1$\(salt)$\(hash)",
            "$argon2id$v=19$m=64,t=1,p=1$\(salt)=$\(hash)",
            "$argon2id$v=19$m=64,t=1,p=1$AAAA$\(hash)",  // 3-byte salt
            "$argon2id$v=19$m=64,t=1,p=1$\(salt)$AAAAAAAA",  // 6-byte hash
            "$argon2id$v=19$m=64,t=1,p=1$\(salt)$\(hash.dropLast(2))",  // 41 characters: no byte length has it
            "$argon2id$v=19$m=64,t=1,p=1$\(salt)$\(hash.dropLast())_",  // base64url character
            "$argon2id$v=19$m=64,t=1,p=1$\(salt)$\(hash.dropLast())x",  // non-canonical last character
        ]
        for phc in bad {
            #expect(Argon2PHC(parsing: phc) == nil, "\(phc)")
            #expect(!hasher.verify("123456", phc: phc), "\(phc)")
        }
        #expect(hasher.verify("123456", phc: good))
    }

    // MARK: Verification

    @Test("the right code verifies and every wrong code fails")
    func verifyRightAndWrong() {
        let hasher = CodeHasher(pepper: pepper, parameters: Self.fast)
        let phc = hasher.hash("031415")
        #expect(hasher.verify("031415", phc: phc))
        for wrong in ["031416", "31415", "0314150", "", "031415 ", "０３１４１５", "131415"] {
            #expect(!hasher.verify(wrong, phc: phc), "\(wrong)")
        }
    }

    @Test("hashing the same code twice gives different strings (random salt), and both verify")
    func saltedHashes() {
        let hasher = CodeHasher(pepper: pepper, parameters: Self.fast)
        let hashes = (0..<20).map { _ in hasher.hash("123456") }
        #expect(Set(hashes).count == hashes.count)
        #expect(hashes.allSatisfy { hasher.verify("123456", phc: $0) })
    }

    @Test("a different pepper fails verification, and so does no pepper")
    func pepperMatters() {
        let hasher = CodeHasher(pepper: pepper, parameters: Self.fast)
        let phc = hasher.hash("123456")
        #expect(!CodeHasher(pepper: ServerSecret.randomBytes(count: 32), parameters: Self.fast).verify("123456", phc: phc))
        #expect(!CodeHasher(pepper: [], parameters: Self.fast).verify("123456", phc: phc))
        var flipped = pepper
        flipped[31] ^= 1
        #expect(!CodeHasher(pepper: flipped, parameters: Self.fast).verify("123456", phc: phc))

        // Same salt, different pepper: a different hash.
        let salt = Array(UInt8(0)..<16)
        #expect(hasher.hash("123456", salt: salt) != CodeHasher(pepper: [], parameters: Self.fast).hash("123456", salt: salt))
    }

    @Test("peppers from a server secret and from its subkey are the same pepper")
    func pepperFromSecret() {
        let secret = ServerSecret.random()
        let phc = CodeHasher(secret: secret, parameters: Self.fast).hash("987654")
        #expect(CodeHasher(pepper: secret.subkey("pepper"), parameters: Self.fast).verify("987654", phc: phc))
        #expect(!CodeHasher(pepper: secret.subkey("code"), parameters: Self.fast).verify("987654", phc: phc))
    }

    @Test("verification uses the parameters stored in the hash, not the hasher's current ones")
    func verifyUsesStoredParameters() {
        let old = CodeHasher(pepper: pepper, parameters: Argon2Parameters(memoryKiB: 256, iterations: 3, parallelism: 2))
        let phc = old.hash("555000")
        #expect(phc.contains("$m=256,t=3,p=2$"))
        let current = CodeHasher(pepper: pepper, parameters: Self.fast)
        #expect(current.verify("555000", phc: phc))
        #expect(!current.verify("555001", phc: phc))
    }

    // MARK: Agreement with libargon2's own functions

    @Test("with an empty pepper the PHC string equals libargon2's argon2id_hash_encoded, byte for byte")
    func matchesHashEncoded() throws {
        let salt = ServerSecret.randomBytes(count: 16)
        for parameters in [Argon2Parameters.owasp, Self.fast, Argon2Parameters(memoryKiB: 1024, iterations: 3, parallelism: 4)] {
            for code in ["000000", "123456", "0042", "9999999999"] {
                let ours = CodeHasher(pepper: [], parameters: parameters).hash(code, salt: salt)
                let length = argon2_encodedlen(
                    UInt32(parameters.iterations), UInt32(parameters.memoryKiB), UInt32(parameters.parallelism),
                    16, 32, Argon2_id)
                var encoded = [CChar](repeating: 0, count: length)
                let status = argon2id_hash_encoded(
                    UInt32(parameters.iterations), UInt32(parameters.memoryKiB), UInt32(parameters.parallelism),
                    code, code.utf8.count, salt, salt.count, 32, &encoded, length)
                #expect(status == ARGON2_OK.rawValue)
                let theirs = String(decoding: encoded.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                #expect(ours == theirs)
                #expect(argon2id_verify(ours, code, code.utf8.count) == ARGON2_OK.rawValue)
            }
        }
    }

    @Test("with an empty pepper the raw output equals libargon2's argon2id_hash_raw")
    func matchesHashRaw() throws {
        let phc = CodeHasher(pepper: []).hash("314159")
        let parsed = try #require(Argon2PHC(parsing: phc))
        var raw = [UInt8](repeating: 0, count: 32)
        let status = argon2id_hash_raw(2, 19_456, 1, "314159", 6, parsed.salt, parsed.salt.count, &raw, raw.count)
        #expect(status == ARGON2_OK.rawValue)
        #expect(raw == parsed.hash)
    }

    @Test("with a pepper, libargon2's unkeyed verify rejects the hash")
    func pepperedHashIsNotPlainArgon2() {
        let phc = CodeHasher(pepper: pepper, parameters: Self.fast).hash("123456")
        #expect(argon2id_verify(phc, "123456", 6) == ARGON2_VERIFY_MISMATCH.rawValue)
    }

    @Test("the keyed argon2id call reproduces the RFC 9106 §5.3 test vector (secret and associated data)")
    func rfc9106Vector() {
        let tag = CodeHasher.argon2id(
            password: [UInt8](repeating: 1, count: 32), salt: [UInt8](repeating: 2, count: 16),
            secret: [UInt8](repeating: 3, count: 8), associatedData: [UInt8](repeating: 4, count: 12),
            parameters: Argon2Parameters(memoryKiB: 32, iterations: 3, parallelism: 4), outputByteCount: 32)
        #expect(tag.map { ServerSecret.encodeHex($0) }
                == "0d640df58d78766c08c037a34a8b53c9d01ef0452d75b65eb52520e96b01e659")
    }

    // MARK: Parameters

    @Test("parameter limits: 1…16 lanes, 1…64 passes, 8 KiB per lane up to 1 GiB")
    func parameterLimits() {
        #expect(Argon2Parameters.isAcceptable(memoryKiB: 19_456, iterations: 2, parallelism: 1))
        #expect(Argon2Parameters.isAcceptable(memoryKiB: 8, iterations: 1, parallelism: 1))
        #expect(Argon2Parameters.isAcceptable(memoryKiB: 1_048_576, iterations: 64, parallelism: 16))
        #expect(!Argon2Parameters.isAcceptable(memoryKiB: 7, iterations: 1, parallelism: 1))
        #expect(!Argon2Parameters.isAcceptable(memoryKiB: 16, iterations: 1, parallelism: 4))
        #expect(!Argon2Parameters.isAcceptable(memoryKiB: 1_048_577, iterations: 1, parallelism: 1))
        #expect(!Argon2Parameters.isAcceptable(memoryKiB: 64, iterations: 0, parallelism: 1))
        #expect(!Argon2Parameters.isAcceptable(memoryKiB: 64, iterations: 65, parallelism: 1))
        #expect(!Argon2Parameters.isAcceptable(memoryKiB: 64, iterations: 1, parallelism: 0))
        #expect(!Argon2Parameters.isAcceptable(memoryKiB: 1024, iterations: 1, parallelism: 17))
        #expect(Argon2Parameters.owasp.description == "m=19456,t=2,p=1")
    }

    // MARK: Dummy verification and redaction

    @Test("dummyVerify costs about as much as a real verify (medians within 3×)")
    func dummyVerifyCost() {
        let hasher = CodeHasher(pepper: pepper)
        let phc = hasher.hash("123456")
        hasher.dummyVerify("000000")  // warm up the allocator
        var real: [UInt64] = []
        var dummy: [UInt64] = []
        for _ in 0..<7 {  // interleaved, so background load affects both alike
            var start = DispatchTime.now().uptimeNanoseconds
            _ = hasher.verify("654321", phc: phc)
            real.append(DispatchTime.now().uptimeNanoseconds - start)
            start = DispatchTime.now().uptimeNanoseconds
            hasher.dummyVerify("654321")
            dummy.append(DispatchTime.now().uptimeNanoseconds - start)
        }
        let realMedian = Double(real.sorted()[3])
        let dummyMedian = Double(dummy.sorted()[3])
        #expect(dummyMedian > realMedian / 3 && dummyMedian < realMedian * 3, "real \(realMedian) ns, dummy \(dummyMedian) ns")
    }

    @Test("the hasher's description shows the parameters but never the pepper")
    func redaction() {
        let hasher = CodeHasher(pepper: [UInt8](repeating: 0xAB, count: 32), parameters: Self.fast)
        var dumped = ""
        dump(hasher, to: &dumped)
        for text in ["\(hasher)", String(reflecting: hasher), dumped] {
            #expect(!text.contains("171") && !text.lowercased().contains("abab"), "\(text)")
        }
        #expect("\(hasher)" == "CodeHasher(m=64,t=1,p=1, pepper redacted)")
    }
}

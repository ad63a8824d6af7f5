import Foundation
import TestServers
import Testing

@testable import ContactVerifyCore

/// Acceptance test: the normalizer agrees with the Python `phonenumbers` package (same
/// metadata version as Debian's libphonenumber) on validity and E.164 for thousands of
/// generated inputs. `scripts/phone_oracle.py` generates the inputs and the expected answers.
@Suite("Phone normalization agrees with Python phonenumbers")
struct PhoneOracleTests {
    /// One line of the oracle's output.
    struct OracleCase: Decodable {
        let input: String
        let region: String?
        let valid: Bool
        let e164: String?
    }

    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()  // ContactVerifyCoreTests
        .deletingLastPathComponent()  // Tests
        .deletingLastPathComponent()

    /// Runs the oracle script and decodes its lines; records an issue and returns nil on failure.
    static func oracleCases() async -> [OracleCase]? {
        let python = ProcessInfo.processInfo.environment["CONTACT_VERIFY_PYTHON"]
            ?? packageRoot.appendingPathComponent(".venv/bin/python").path
        let script = packageRoot.appendingPathComponent("scripts/phone_oracle.py").path
        guard FileManager.default.isExecutableFile(atPath: python) else {
            Issue.record("""
                No Python interpreter at \(python). Run scripts/install-deps to create the \
                project venv with phonenumbers==8.12.57, or set CONTACT_VERIFY_PYTHON.
                """)
            return nil
        }

        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [script]
        let result: ProcessResult
        do {
            result = try await process.runToEnd()
        } catch {
            Issue.record("Could not run \(python) \(script): \(error). Run scripts/install-deps.")
            return nil
        }
        guard result.status == 0 else {
            Issue.record("""
                scripts/phone_oracle.py exited with status \(result.status) (is \
                phonenumbers==8.12.57 installed? run scripts/install-deps):
                \(result.errors)
                """)
            return nil
        }

        let decoder = JSONDecoder()
        var cases: [OracleCase] = []
        for line in result.output.split(separator: "\n") where !line.isEmpty {
            do {
                cases.append(try decoder.decode(OracleCase.self, from: Data(line.utf8)))
            } catch {
                Issue.record("Unreadable oracle line \(line): \(error)")
                return nil
            }
        }
        return cases
    }

    @Test("validity and E.164 agree with phonenumbers on at least 2,000 inputs across 15 regions")
    func agreesWithPhonenumbers() async throws {
        let cases = try #require(await Self.oracleCases())
        let regions = Set(cases.compactMap(\.region))
        #expect(cases.count >= 2_000, "only \(cases.count) oracle cases")
        #expect(regions.count >= 15, "only \(regions.count) regions")
        #expect(cases.contains { $0.valid } && cases.contains { !$0.valid })

        let normalizer = PhoneNumberNormalizer()
        var disagreements: [String] = []
        for oracle in cases {
            let actual = try? normalizer.normalize(oracle.input, defaultRegion: oracle.region)
            if (actual != nil) != oracle.valid || (oracle.valid && actual?.e164 != oracle.e164) {
                disagreements.append("""
                    \(String(reflecting: oracle.input)) region \(oracle.region ?? "nil"): \
                    phonenumbers \(oracle.e164 ?? "invalid"), ContactVerify \(actual?.e164 ?? "invalid")
                    """)
            }
        }
        let examples = disagreements.prefix(25).joined(separator: "\n")
        #expect(
            disagreements.isEmpty,
            "\(disagreements.count) of \(cases.count) cases disagree, e.g.:\n\(examples)")
        print("phone oracle: \(cases.count) cases across \(regions.count) regions, \(disagreements.count) disagreements")
    }
}

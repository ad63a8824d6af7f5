import Foundation
import TestServers
import Testing

@Suite("The built binary")
struct BinaryTests {
    @Test("serves HTTP on a free port, uses keys made by the CLI, and exits cleanly on SIGTERM")
    func servesAndShutsDown() async throws {
        let service = ServiceProcess()
        _ = try await service.command(["accounts", "put", "acme", "--default-region", "CN"])
        let admin = try await service.command(["keys", "create", "--admin"])
        #expect(admin.hasPrefix("cvk_") && !admin.contains("\n"))
        let accountKey = try await service.command(["keys", "create", "--account", "acme"])
        try await service.start()

        let (health, _) = try await service.request("GET", "/healthz")
        #expect(health == 200)
        let (created, body) = try await service.request(
            "POST", "/v1/accounts/acme/contacts", key: accountKey, body: #"{"name":"Ann","phone":"13800138000"}"#)
        #expect(created == 201)
        #expect(body.contains(#""address":"+8613800138000""#))
        let (forbidden, _) = try await service.request("PUT", "/v1/accounts/other", key: accountKey, body: #"{"displayName":"x"}"#)
        #expect(forbidden == 403)
        let (allowed, _) = try await service.request("PUT", "/v1/accounts/other", key: admin, body: #"{"displayName":"x"}"#)
        #expect(allowed == 201)
        #expect(await service.terminate() == 0)
    }

    @Test("every command's --help names each option's environment variable and default")
    func helpListsEnvironment() async throws {
        for command in [["serve"], ["migrate"], ["keys", "create"], ["accounts", "put"]] {
            let text = try await Self.help(command)
            #expect(text.contains("CONTACT_VERIFY_DATA_DIR"), "\(command)")
            if command == ["serve"] {
                for variable in [
                    "CONTACT_VERIFY_HOST", "CONTACT_VERIFY_PORT", "CONTACT_VERIFY_PUBLIC_URL", "CONTACT_VERIFY_SECRET_KEY",
                    "CONTACT_VERIFY_ALLOW_PRIVATE_WEBHOOK_TARGETS",
                ] {
                    #expect(text.contains(variable))
                }
            }
        }
    }

    @Test("docker/compose.yaml sets only settings that `serve --help` documents (no Docker engine runs here)")
    func composeSettingsExist() async throws {
        let compose = try String(contentsOfFile: ServiceProcess.packageRoot + "/docker/compose.yaml", encoding: .utf8)
        let names = compose.matches(of: /(?m)^\s+(CONTACT_VERIFY_[A-Z0-9_]+):/).map { String($0.1) }
        #expect(names.count >= 10)
        let help = try await Self.help(["serve"])
        for name in names {
            #expect(help.contains("env: \(name)") || help.contains(" \(name)"), "\(name) is not a serve setting")
        }
    }

    @Test("an outbox lease shorter than the longest send is refused at start-up (a slow send must not be claimed again)")
    func leaseOutlastsSend() async throws {
        let service = ServiceProcess()
        defer { try? FileManager.default.removeItem(atPath: service.dataDirectory) }
        await #expect {
            try await service.start(arguments: ["--smtp-url", "smtp://127.0.0.1:25", "--smtp-tls", "none", "--smtp-timeout", "30", "--outbox-lease", "20"])
        } throws: { error in
            guard case ServiceProcess.ServiceError.exited(let log) = error else { return false }
            return log.contains("--outbox-lease (20 s) must be longer than the longest send (35 s")
        }
    }

    @Test("a longest send over half the code lifetime is refused at start-up, naming both flags (R-5: a code must not arrive expired)")
    func sendFitsCodeLifetime() async throws {
        let service = ServiceProcess()
        defer { try? FileManager.default.removeItem(atPath: service.dataDirectory) }
        await #expect {
            try await service.start(arguments: [
                "--smtp-url", "smtp://127.0.0.1:25", "--smtp-tls", "none", "--smtp-timeout", "300", "--outbox-lease", "600",
            ])
        } throws: { error in
            guard case ServiceProcess.ServiceError.exited(let log) = error else { return false }
            return log.contains("The longest send (305 s") && log.contains("at most half of --code-lifetime (600 s)")
        }
        // The same send with a lifetime twice as long starts (the rule, not the flags, refused).
        let fitting = ServiceProcess()
        defer { try? FileManager.default.removeItem(atPath: fitting.dataDirectory) }
        try await fitting.start(arguments: [
            "--smtp-url", "smtp://127.0.0.1:25", "--smtp-tls", "none", "--smtp-timeout", "300", "--outbox-lease", "600",
            "--code-lifetime", "610",
        ])
        #expect(await fitting.terminate() == 0)
    }

    /// The `--help` text of `command` (standard output; the run must succeed).
    static func help(_ command: [String]) async throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: ServiceProcess.binary)
        process.arguments = command + ["--help"]
        let result = try await process.runToEnd()
        #expect(result.status == 0, "\(command) --help")
        return result.output
    }
}

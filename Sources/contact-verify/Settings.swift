import ArgumentParser
import ContactVerifyAPI
import Foundation
import Logging

/// Resolves one setting: flag, then `CONTACT_VERIFY_<NAME>`, then the config file, then the default.
struct SettingsSource {
    private let environment: [String: String]
    private let file: [String: String]

    init(configFile: String?, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        self.environment = environment
        guard let path = configFile ?? environment["CONTACT_VERIFY_CONFIG"] else {
            file = [:]
            return
        }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw ValidationError("Cannot read the config file at \(path).")
        }
        var values: [String: String] = [:]
        for (number, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let eq = line.firstIndex(of: "="), line[..<eq].hasPrefix("CONTACT_VERIFY_") else {
                throw ValidationError("\(path):\(number + 1): expected CONTACT_VERIFY_NAME=value.")
            }
            values[String(line[..<eq]).trimmingCharacters(in: .whitespaces)] = String(line[line.index(after: eq)...]).trimmingCharacters(in: .whitespaces)
        }
        file = values
    }

    /// The environment variable that backs `--flag-name`.
    static func variable(for flag: String) -> String {
        "CONTACT_VERIFY_" + flag.uppercased().replacingOccurrences(of: "-", with: "_")
    }

    func string(_ flag: String, _ value: String?) -> String? {
        if let value { return value }
        let name = Self.variable(for: flag)
        return environment[name] ?? file[name]
    }

    func int(_ flag: String, _ value: Int?) throws -> Int? {
        if let value { return value }
        guard let text = string(flag, nil) else { return nil }
        guard let number = Int(text) else { throw ValidationError("\(Self.variable(for: flag)) must be an integer.") }
        return number
    }

    func bool(_ flag: String, _ value: Bool) throws -> Bool {
        if value { return true }
        guard let text = string(flag, nil)?.lowercased() else { return false }
        switch text {
        case "1", "true", "yes", "on": return true
        case "0", "false", "no", "off", "": return false
        default: throw ValidationError("\(Self.variable(for: flag)) must be true or false.")
        }
    }
}

/// Options every command that touches the data folder shares.
struct StoreOptions: ParsableArguments {
    @Option(name: .customLong("data-dir"), help: "Folder for the SQLite database, the server secret and file-transport output. (env: CONTACT_VERIFY_DATA_DIR; default: ./data)")
    var dataDirectory: String?

    @Option(name: .customLong("config"), help: "A file of CONTACT_VERIFY_NAME=value lines. (env: CONTACT_VERIFY_CONFIG)")
    var configFile: String?

    func settings() throws -> SettingsSource { try SettingsSource(configFile: configFile) }

    func resolvedDataDirectory(_ settings: SettingsSource) -> String {
        settings.string("data-dir", dataDirectory) ?? "./data"
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}

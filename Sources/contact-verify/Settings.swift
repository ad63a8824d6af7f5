import ArgumentParser
import ContactVerifyAPI
import ContactVerifyCore
import ContactVerifyStore
import Foundation
import Logging

/// Resolves one setting: flag, then `CONTACT_VERIFY_<NAME>`, then the config file, then the default.
struct SettingsSource {
    let environment: [String: String]
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

    func double(_ flag: String, _ value: Double?) throws -> Double? {
        if let value { return value }
        guard let text = string(flag, nil) else { return nil }
        guard let number = Double(text) else { throw ValidationError("\(Self.variable(for: flag)) must be a number.") }
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

    @Option(name: .customLong("database-url"), help: "postgres://user:password@host:5432/db[?sslmode=disable|prefer|require|verify-ca|verify-full&sslrootcert=FILE] selects the shared PostgreSQL store. (env: CONTACT_VERIFY_DATABASE_URL or DATABASE_URL; default: unset, SQLite in the data folder)")
    var databaseURL: String?

    @Option(name: .customLong("database-pool-size"), help: "PostgreSQL connections per instance. (env: CONTACT_VERIFY_DATABASE_POOL_SIZE; default: 10)")
    var databasePoolSize: Int?

    @Option(name: .customLong("database-statement-timeout"), help: "Seconds a PostgreSQL statement may run before the server cancels it (0: no limit). (env: CONTACT_VERIFY_DATABASE_STATEMENT_TIMEOUT; default: 30)")
    var databaseStatementTimeout: Int?

    func settings() throws -> SettingsSource { try SettingsSource(configFile: configFile) }

    /// Fills the data folder and the database of `configuration`.
    func apply(_ settings: SettingsSource, to configuration: inout ServiceConfiguration) throws {
        configuration.dataDirectory = resolvedDataDirectory(settings)
        guard let url = settings.string("database-url", databaseURL) ?? settings.environment["DATABASE_URL"] else { return }
        do {
            var database = try PostgresStoreConfiguration(url: url)
            database.poolSize = try settings.int("database-pool-size", databasePoolSize) ?? database.poolSize
            guard (1...1000).contains(database.poolSize) else { throw ValidationError("--database-pool-size must be 1–1000.") }
            if let seconds = try settings.int("database-statement-timeout", databaseStatementTimeout) {
                guard seconds >= 0 else { throw ValidationError("--database-statement-timeout must be 0 or more seconds.") }
                database.statementTimeout = seconds == 0 ? nil : .seconds(seconds)
            }
            configuration.database = database
        } catch let error as ConfigurationError {
            throw ValidationError(error.description)
        }
    }

    func resolvedDataDirectory(_ settings: SettingsSource) -> String {
        settings.string("data-dir", dataDirectory) ?? "./data"
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}

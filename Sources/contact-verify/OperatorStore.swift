import ContactVerifyAPI
import ContactVerifyCore
import ContactVerifyStore
import Foundation

/// Opens the configured store for the operator commands (the service may be running: SQLite
/// in WAL mode takes both).
enum OperatorStore {
    static func open(from options: StoreOptions) async throws -> any Store {
        let settings = try options.settings()
        var configuration = ServiceConfiguration()
        configuration.dataDirectory = options.resolvedDataDirectory(settings)
        return try await open(configuration)
    }

    static func open(_ configuration: ServiceConfiguration) async throws -> any Store {
        try FileManager.default.createDirectory(atPath: configuration.dataDirectory, withIntermediateDirectories: true)
        return try SQLiteStore(path: configuration.databasePath)
    }
}

import ContactVerifyAPI
import ContactVerifyCore

/// Opens the configured store for the operator commands (the service may be running: SQLite
/// in WAL mode and PostgreSQL both take several processes).
enum OperatorStore {
    static func open(from options: StoreOptions) async throws -> any Store {
        var configuration = ServiceConfiguration()
        try options.apply(try options.settings(), to: &configuration)
        return try await configuration.openStore()
    }
}

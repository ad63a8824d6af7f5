import ArgumentParser
import ContactVerifyAPI
import ContactVerifyStore

/// `contact-verify migrate`: brings the database schema up to date and exits.
struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "migrate", abstract: "Create or upgrade the database schema, then exit.")

    @OptionGroup var store: StoreOptions

    func run() async throws {
        var configuration = ServiceConfiguration()
        try store.apply(try store.settings(), to: &configuration)
        _ = try await configuration.openStore()
        print("Database at \(configuration.database?.redacted ?? configuration.databasePath) is up to date.")
    }
}

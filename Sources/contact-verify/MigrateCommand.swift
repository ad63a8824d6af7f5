import ArgumentParser
import ContactVerifyAPI
import ContactVerifyStore

/// `contact-verify migrate`: brings the database schema up to date and exits.
struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "migrate", abstract: "Create or upgrade the database schema, then exit.")

    @OptionGroup var store: StoreOptions

    func run() async throws {
        let settings = try store.settings()
        var configuration = ServiceConfiguration()
        configuration.dataDirectory = store.resolvedDataDirectory(settings)
        _ = try await OperatorStore.open(configuration)
        print("Database at \(configuration.databasePath) is up to date.")
    }
}

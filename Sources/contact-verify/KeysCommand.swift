import ArgumentParser
import ContactVerifyAPI
import ContactVerifyCore

/// `contact-verify keys create|revoke`.
struct KeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys", abstract: "Create or revoke API keys.", subcommands: [Create.self, Revoke.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a key and print its secret alone on standard output (shown only once).")

        @OptionGroup var store: StoreOptions

        @Flag(help: "An admin key: manages accounts and keys, and may act on every account.")
        var admin = false

        @Option(help: "The account the key is scoped to.")
        var account: String?

        @Option(help: "A label for the key.")
        var name: String?

        func validate() throws {
            guard admin != (account != nil) else { throw ValidationError("Give exactly one of --admin or --account ID.") }
        }

        func run() async throws {
            let store = try await OperatorStore.open(from: self.store)
            if let account, try await store.account(id: account) == nil {
                throw ValidationError("No account \(account); create it with `contact-verify accounts put \(account)`.")
            }
            let (key, secret) = APIKey.generate(accountID: account, isAdmin: admin, name: name, now: SystemWallClock().now())
            try await store.insertKey(key)
            print(secret)
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a key by its id (key_…).")

        @OptionGroup var store: StoreOptions

        @Argument(help: "The key id (key_…), as returned when the key was created.")
        var id: String

        func run() async throws {
            let store = try await OperatorStore.open(from: self.store)
            guard try await store.revokeKey(id: id, accountID: nil, at: SystemWallClock().now()) else {
                throw ValidationError("No active key \(id).")
            }
            print("Revoked \(id).")
        }
    }
}

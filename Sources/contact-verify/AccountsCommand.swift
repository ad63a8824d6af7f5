import ArgumentParser
import ContactVerifyAPI
import ContactVerifyCore

/// `contact-verify accounts put`.
struct AccountsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "accounts", abstract: "Manage accounts.", subcommands: [Put.self])

    struct Put: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create an account or replace its settings.",
            discussion: "The account's own settings are flags only: no environment variable fills them, so one exported variable cannot silently apply to every account.")

        @OptionGroup var store: StoreOptions

        @Argument(help: "Account id: 1–63 of a-z, 0-9, _ and -.")
        var id: String

        @Option(name: .customLong("display-name"), help: "Shown in messages. (default: the id)")
        var displayName: String?

        @Option(name: .customLong("default-region"), help: "ISO 3166 alpha-2 region for national phone numbers, e.g. CN.")
        var defaultRegion: String?

        @Option(help: "Default template language. (default: en)")
        var locale: String?

        @Option(name: .customLong("daily-sms-limit"), help: "SMS per day for this account. (default: 1000)")
        var dailySmsLimit: Int?

        func validate() throws {
            guard Account.isValidID(id) else { throw ValidationError("Account ids are 1–63 characters of a-z, 0-9, _ and -.") }
            if let defaultRegion, !PhoneNumberNormalizer.isKnownRegion(defaultRegion) {
                throw ValidationError("--default-region must be an ISO 3166 alpha-2 region code.")
            }
            guard (dailySmsLimit ?? 0) >= 0 else { throw ValidationError("--daily-sms-limit must not be negative.") }
        }

        func run() async throws {
            let store = try await OperatorStore.open(from: self.store)
            let now = SystemWallClock().now()
            let (account, created) = try await store.putAccount(
                Account(
                    id: id, displayName: displayName ?? id, defaultRegion: defaultRegion, locale: locale ?? "en",
                    dailySmsLimit: dailySmsLimit ?? Account.defaultDailySmsLimit, createdAt: now, updatedAt: now))
            print("\(created ? "Created" : "Updated") account \(account.id).")
        }
    }
}

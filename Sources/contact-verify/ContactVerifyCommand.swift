import ArgumentParser

/// `contact-verify`: the service and its operator commands.
@main
struct ContactVerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "contact-verify",
        abstract: "Proves that contacts' email addresses and phone numbers are real.",
        discussion: """
            Every option also reads an environment variable named CONTACT_VERIFY_ + the option in \
            upper snake case (--data-dir → CONTACT_VERIFY_DATA_DIR), and KEY=VALUE lines of the same \
            names from the file given by --config. Flags win over the environment, the environment \
            over the file, the file over defaults.
            """,
        subcommands: [ServeCommand.self, MigrateCommand.self, KeysCommand.self, AccountsCommand.self, SendTestCommand.self])
}

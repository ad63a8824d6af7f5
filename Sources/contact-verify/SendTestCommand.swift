import ArgumentParser
import ContactVerifyAPI
import ContactVerifyCore
import ContactVerifyDelivery
import Foundation

/// `contact-verify send-test --email ADDRESS | --phone NUMBER`: sends one test message through
/// the configured transport (the same flags as `serve`) and prints what happened.
struct SendTestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "send-test", abstract: "Send one test message through the configured SMTP server or SMS gateway.")

    @OptionGroup var store: StoreOptions
    @OptionGroup var transports: TransportOptions

    @Option(help: "Send a test email to this address.")
    var email: String?

    @Option(help: "Send a test SMS to this E.164 number (+8613800138000).")
    var phone: String?

    func validate() throws {
        guard (email == nil) != (phone == nil) else { throw ValidationError("Give exactly one of --email or --phone.") }
    }

    func run() async throws {
        let settings = try store.settings()
        var configuration = ServiceConfiguration()
        try store.apply(settings, to: &configuration)
        try transports.apply(settings, to: &configuration)
        let files = FileTransport(
            directory: configuration.outboxDirectory, fromName: configuration.mailFromName, fromAddress: configuration.mailFromAddress)
        let message: OutboundMessage
        let transport: any MessageTransport
        let id = OutboxMessage.makeID()
        if let email {
            let address: String
            do {
                address = try EmailNormalizer().normalize(email).address
            } catch {
                throw ValidationError("--email: \(error)")
            }
            transport = configuration.emailTransport ?? files
            message = OutboundMessage(
                id: id, channel: .email, to: address,
                email: RenderedEmail(
                    subject: "ContactVerify test message", text: "This is a test message from ContactVerify.\n",
                    html: "<p>This is a test message from ContactVerify.</p>\n"))
        } else {
            let number: String
            do {
                number = try PhoneNumberNormalizer().normalize(phone ?? "", defaultRegion: nil).e164
            } catch {
                throw ValidationError("--phone: \(error)")
            }
            transport = configuration.smsTransport ?? files
            message = OutboundMessage(id: id, channel: .sms, to: number, smsText: "ContactVerify test message 000000")
        }
        do {
            let receipt = try await transport.deliver(message)
            print("sent: provider id \(receipt.providerMessageID ?? "none")\(receipt.detail.map { "; \($0)" } ?? "")")
        } catch {
            print("failed (\(error.kind.rawValue)): \(error.code): \(error.message)")
            throw ExitCode.failure
        }
    }
}

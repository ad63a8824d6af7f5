import ArgumentParser
import ContactVerifyAPI
import ContactVerifyDelivery

/// How messages leave: SMTP for email and an SMS gateway, each falling back to the file
/// transport under the data folder when not configured (design §5, §7).
struct TransportOptions: ParsableArguments {
    @Option(name: .customLong("smtp-url"), help: "smtp://[user:pass@]host:port or smtps://…; unset writes .eml files. (env: CONTACT_VERIFY_SMTP_URL; default: unset)")
    var smtpURL: String?

    @Option(name: .customLong("smtp-tls"), help: "required, opportunistic or none (STARTTLS on smtp://). (env: CONTACT_VERIFY_SMTP_TLS; default: required)")
    var smtpTLS: String?

    @Option(name: .customLong("smtp-from"), help: "Sender of emails, `Name <address>` or `address`. (env: CONTACT_VERIFY_SMTP_FROM; default: ContactVerify <no-reply@localhost>)")
    var smtpFrom: String?

    @Option(name: .customLong("smtp-ca-file"), help: "PEM file of CAs to trust for the SMTP server. (env: CONTACT_VERIFY_SMTP_CA_FILE; default: the system trust store)")
    var smtpCAFile: String?

    @Option(name: .customLong("smtp-helo"), help: "The EHLO name. (env: CONTACT_VERIFY_SMTP_HELO; default: libcurl's)")
    var smtpHelo: String?

    @Option(name: .customLong("smtp-connections"), help: "Parallel SMTP connections, each reused. (env: CONTACT_VERIFY_SMTP_CONNECTIONS; default: 4)")
    var smtpConnections: Int?

    @Option(name: .customLong("smtp-rate"), help: "Emails per second this instance sends at most (0: unlimited). (env: CONTACT_VERIFY_SMTP_RATE; default: 0)")
    var smtpRate: Double?

    @Option(name: .customLong("smtp-timeout"), help: "Seconds for one message. (env: CONTACT_VERIFY_SMTP_TIMEOUT; default: 30)")
    var smtpTimeout: Int?

    @Option(name: .customLong("sms-provider"), help: "file, kannel, twilio, vonage, aliyun or http. (env: CONTACT_VERIFY_SMS_PROVIDER; default: file)")
    var smsProvider: String?

    @Option(name: .customLong("sms-url"), help: "The gateway's endpoint (Kannel: http://host:13013/cgi-bin/sendsms; others: their API base). (env: CONTACT_VERIFY_SMS_URL; default: unset)")
    var smsURL: String?

    @Option(name: .customLong("sms-username"), help: "Gateway user (Kannel user, Twilio API key or account SID, Vonage key, Alibaba AccessKeyId). (env: CONTACT_VERIFY_SMS_USERNAME; default: unset)")
    var smsUsername: String?

    @Option(name: .customLong("sms-password"), help: "Gateway secret. (env: CONTACT_VERIFY_SMS_PASSWORD; default: unset)")
    var smsPassword: String?

    @Option(name: .customLong("sms-from"), help: "Sender id or number. (env: CONTACT_VERIFY_SMS_FROM; default: unset)")
    var smsFrom: String?

    @Option(name: .customLong("sms-rate"), help: "SMS per second this instance sends at most, to stay under the gateway's limit (0: unlimited). (env: CONTACT_VERIFY_SMS_RATE; default: 0)")
    var smsRate: Double?

    @Option(name: .customLong("sms-connections"), help: "Parallel connections to the SMS gateway, each reused. (env: CONTACT_VERIFY_SMS_CONNECTIONS; default: 4)")
    var smsConnections: Int?

    @Option(name: .customLong("sms-twilio-account-sid"), help: "Twilio account SID (when --sms-username is an API key). (env: CONTACT_VERIFY_SMS_TWILIO_ACCOUNT_SID; default: the username)")
    var twilioAccountSID: String?

    @Option(name: .customLong("sms-twilio-messaging-service-sid"), help: "Twilio Messaging Service SID instead of --sms-from. (env: CONTACT_VERIFY_SMS_TWILIO_MESSAGING_SERVICE_SID; default: unset)")
    var twilioMessagingServiceSID: String?

    @Option(name: .customLong("sms-aliyun-sign-name"), help: "Alibaba Cloud SignName. (env: CONTACT_VERIFY_SMS_ALIYUN_SIGN_NAME; default: unset)")
    var aliyunSignName: String?

    @Option(name: .customLong("sms-aliyun-template-code"), help: "Alibaba Cloud template for codes ({\"code\":…}). (env: CONTACT_VERIFY_SMS_ALIYUN_TEMPLATE_CODE; default: unset)")
    var aliyunTemplateCode: String?

    @Option(name: .customLong("sms-aliyun-link-template-code"), help: "Alibaba Cloud template for links ({\"link\":…}). (env: CONTACT_VERIFY_SMS_ALIYUN_LINK_TEMPLATE_CODE; default: unset)")
    var aliyunLinkTemplateCode: String?

    @Option(name: .customLong("sms-http-body"), help: "Mustache body of the generic HTTP gateway (to, text, id, reportUrl). (env: CONTACT_VERIFY_SMS_HTTP_BODY; default: unset)")
    var httpBody: String?

    /// Fills the sender and the transports of `configuration`.
    func apply(_ settings: SettingsSource, to configuration: inout ServiceConfiguration) throws {
        var connections = 0
        do {
            let from = settings.string("smtp-from", smtpFrom) ?? "ContactVerify <no-reply@localhost>"
            (configuration.mailFromName, configuration.mailFromAddress) = try SMTPConfiguration.parseSender(from)
            if let url = settings.string("smtp-url", smtpURL) {
                let smtp = try SMTPConfiguration.parse(
                    url: url, tls: settings.string("smtp-tls", smtpTLS) ?? "required", from: from,
                    caFile: settings.string("smtp-ca-file", smtpCAFile), helo: settings.string("smtp-helo", smtpHelo),
                    connections: try settings.int("smtp-connections", smtpConnections) ?? 4,
                    timeoutSeconds: Double(try smtpTimeoutSeconds(settings)))
                configuration.emailTransport = try SMTPTransport(smtp)
                connections += smtp.connections
            }
        } catch let error as SMTPConfigurationError {
            throw ValidationError(error.description)
        }

        configuration.emailRatePerSecond = try rate("smtp-rate", smtpRate, settings)
        configuration.smsRatePerSecond = try rate("sms-rate", smsRate, settings)

        let name = settings.string("sms-provider", smsProvider) ?? "file"
        guard let provider = SMSProvider(rawValue: name) else {
            throw ValidationError("--sms-provider must be one of \(SMSProvider.allCases.map(\.rawValue).joined(separator: ", ")).")
        }
        var sms = SMSGatewayConfiguration(
            provider: provider, url: settings.string("sms-url", smsURL), username: settings.string("sms-username", smsUsername),
            password: settings.string("sms-password", smsPassword), from: settings.string("sms-from", smsFrom))
        sms.twilioAccountSID = settings.string("sms-twilio-account-sid", twilioAccountSID)
        sms.twilioMessagingServiceSID = settings.string("sms-twilio-messaging-service-sid", twilioMessagingServiceSID)
        sms.aliyunSignName = settings.string("sms-aliyun-sign-name", aliyunSignName)
        sms.aliyunTemplateCode = settings.string("sms-aliyun-template-code", aliyunTemplateCode)
        sms.aliyunLinkTemplateCode = settings.string("sms-aliyun-link-template-code", aliyunLinkTemplateCode)
        sms.httpBody = settings.string("sms-http-body", httpBody)
        var client = CurlHTTPClient.Configuration()
        client.connections = try settings.int("sms-connections", smsConnections) ?? 4
        guard client.connections > 0 else { throw ValidationError("--sms-connections must be at least 1.") }
        do {
            if let gateway = try sms.makeGateway() {
                configuration.smsTransport = SMSTransport(gateway: gateway, client: CurlHTTPClient(client))
                connections += client.connections
            }
        } catch {
            throw ValidationError(error.description)
        }
        configuration.outboxWindow = OutboxWorker.window(connections: connections)
    }

    /// Seconds one SMTP message may take (`--smtp-timeout`, 30 by default).
    private func smtpTimeoutSeconds(_ settings: SettingsSource) throws -> Int {
        try settings.int("smtp-timeout", smtpTimeout) ?? 30
    }

    /// The longest one send may take with these transports, in seconds: the SMTP timeout or
    /// the SMS gateways' 10 s, plus the 5 s a paced message may wait for its turn. An outbox
    /// lease must outlast it, or another instance could claim a message still being sent.
    func longestSendSeconds(_ settings: SettingsSource) throws -> Int {
        let smtp = settings.string("smtp-url", smtpURL) == nil ? 0 : try smtpTimeoutSeconds(settings)
        let sms = (settings.string("sms-provider", smsProvider) ?? "file") == "file" ? 0 : 10
        return max(smtp, sms) + 5
    }

    /// A messages-per-second flag: 0 or unset is unlimited.
    private func rate(_ name: String, _ flag: Double?, _ settings: SettingsSource) throws -> Double? {
        guard let rate = try settings.double(name, flag) else { return nil }
        guard rate >= 0, rate.isFinite else { throw ValidationError("--\(name) must be a number of messages per second, 0 for unlimited.") }
        return rate > 0 ? rate : nil
    }
}

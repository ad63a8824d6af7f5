import ContactVerifyCore
import Foundation

/// Which SMS provider delivers SMS messages (`--sms-provider`).
public enum SMSProvider: String, Sendable, CaseIterable {
    /// The embedded default: SMS are appended to `sms.jsonl` in the data folder (no gateway).
    case file
    /// Kannel smsbox `sendsms` (``KannelGateway``).
    case kannel
    /// Twilio Programmable Messaging (``TwilioGateway``).
    case twilio
    /// Vonage SMS API (``VonageGateway``).
    case vonage
    /// Alibaba Cloud SMS `SendSms` (``AliyunGateway``).
    case aliyun
    /// Any HTTP gateway: method, URL, headers, Mustache body (``GenericHTTPGateway``).
    case http
}

/// The SMS settings as the operator gives them, one property per CLI flag, and the adapter
/// they describe.
///
/// Every flag also reads `CONTACT_VERIFY_` + the flag in upper snake case (design §7):
/// `--sms-url` → `CONTACT_VERIFY_SMS_URL`. The three generic settings mean, per provider:
///
/// | provider | `--sms-url` | `--sms-username` | `--sms-password` | also needs |
/// |---|---|---|---|---|
/// | `file` | — | — | — | nothing (no SMS setting may be given) |
/// | `kannel` | sendsms URL, e.g. `http://kannel:13013/cgi-bin/sendsms` (required) | `sendsms-user` username (required) | its password (required) | `--sms-from` optional |
/// | `twilio` | API base, default `https://api.twilio.com` | Account SID (`AC…`) or API key SID (`SK…`) (required) | auth token or API key secret (required) | `--sms-from` or `--sms-twilio-messaging-service-sid`; `--sms-twilio-account-sid` when the username is an API key |
/// | `vonage` | API base, default `https://rest.nexmo.com` | `api_key` (required) | `api_secret` (required) | `--sms-from` |
/// | `aliyun` | endpoint, default `https://dysmsapi.aliyuncs.com/` | AccessKey ID (required) | AccessKey secret (required) | `--sms-aliyun-sign-name`, `--sms-aliyun-template-code` |
/// | `http` | the gateway URL (required; may use template variables) | Basic-auth user (optional) | Basic-auth password | `--sms-http-*` optional |
///
/// A provider-specific setting given with another provider is an error, and so is any SMS
/// setting with `file`: a forgotten `--sms-provider` must not silently write SMS to a file.
///
/// ```swift
/// var settings = SMSGatewayConfiguration(provider: .twilio)
/// settings.username = "AC…"; settings.password = "…"; settings.from = "+15005550006"
/// let gateway = try settings.makeGateway()   // a TwilioGateway; nil for .file
/// ```
public struct SMSGatewayConfiguration: Sendable, Equatable {
    /// `--sms-provider`: `file` (default), `kannel`, `twilio`, `vonage`, `aliyun`, `http`.
    public var provider: SMSProvider
    /// `--sms-url`: the gateway endpoint (see the table); unset uses the provider's default.
    public var url: String?
    /// `--sms-username`: the gateway user, account or key id (see the table).
    public var username: String?
    /// `--sms-password`: the gateway secret. Never printed or logged.
    public var password: String?
    /// `--sms-from`: the sender number or alphanumeric sender id (Kannel `from`, Twilio `From`,
    /// Vonage `from`).
    public var from: String?
    /// `--sms-timeout`: the time limit of one gateway request, default 10 seconds (1 ms–120 s).
    public var timeout: Duration

    /// `--sms-kannel-smsc`: the Kannel SMSC id to route through (`smsc`); unset lets Kannel route.
    public var kannelSMSC: String?
    /// `--sms-kannel-dlr-mask`: the `dlr-mask` sent with delivery-report URLs, default 19: the final reports, 1 + 2 + 16 (1–63).
    public var kannelDLRMask: Int?

    /// `--sms-twilio-account-sid`: the Account SID (`AC…`) for the URL path; defaults to
    /// `--sms-username` when that is an Account SID.
    public var twilioAccountSID: String?
    /// `--sms-twilio-messaging-service-sid`: send through a Messaging Service (`MG…`) instead of
    /// `--sms-from`.
    public var twilioMessagingServiceSID: String?

    /// `--sms-aliyun-sign-name`: the approved `SignName` (签名).
    public var aliyunSignName: String?
    /// `--sms-aliyun-template-code`: the approved verification-code template (`SMS_…`) with a
    /// `${code}` variable.
    public var aliyunTemplateCode: String?
    /// `--sms-aliyun-link-template-code`: an approved template with a `${link}` variable for
    /// link verifications; without it, link SMS fail with `aliyun_link_unsupported`.
    public var aliyunLinkTemplateCode: String?
    /// `--sms-aliyun-region`: `RegionId`, default `cn-hangzhou`.
    public var aliyunRegion: String?

    /// `--sms-http-method`: the generic gateway's method, default `POST`.
    public var httpMethod: String?
    /// `--sms-http-header` (repeatable): `Name: value` header lines for the generic gateway.
    /// Values other than `Content-Type`, `Accept` and `User-Agent` are treated as secrets.
    public var httpHeaders: [String]
    /// `--sms-http-body`: the generic gateway's Mustache body template (variables `to`,
    /// `toDigits`, `text`, `id`, `reportUrl`); unset sends no body.
    public var httpBody: String?
    /// `--sms-http-success-status` (repeatable): statuses that mean "accepted", default 200–299.
    public var httpSuccessStatuses: [Int]

    /// Settings for `provider`, everything else unset.
    public init(
        provider: SMSProvider = .file, url: String? = nil, username: String? = nil, password: String? = nil, from: String? = nil,
        timeout: Duration = .seconds(10)
    ) {
        self.provider = provider
        self.url = url
        self.username = username
        self.password = password
        self.from = from
        self.timeout = timeout
        httpHeaders = []
        httpSuccessStatuses = []
    }

    /// The adapter these settings describe, or `nil` for `file` (the caller uses the file
    /// transport).
    ///
    /// - Throws: ``SMSGatewayConfigurationError`` naming the flag and what is wrong with it
    ///   (never its value).
    public func makeGateway() throws(SMSGatewayConfigurationError) -> (any SMSGateway)? {
        try checkOnlyRelevantSettings()
        guard timeout > .zero, timeout <= .seconds(120) else {
            throw SMSGatewayConfigurationError(setting: "--sms-timeout", reason: "must be more than 0 and at most 120 seconds")
        }
        switch provider {
        case .file:
            return nil
        case .kannel:
            let dlrMask = kannelDLRMask ?? 19
            guard (1...63).contains(dlrMask) else {
                throw SMSGatewayConfigurationError(setting: "--sms-kannel-dlr-mask", reason: "must be a Kannel DLR bitmask from 1 to 63")
            }
            return KannelGateway(
                sendsmsURL: try validURL(url, required: "the Kannel sendsms URL, e.g. http://kannel:13013/cgi-bin/sendsms"),
                username: try required(username, "--sms-username", "the Kannel sendsms-user name"),
                password: try required(password, "--sms-password", "the Kannel sendsms-user password"),
                from: try optionalValue(from, "--sms-from"), smsc: try optionalValue(kannelSMSC, "--sms-kannel-smsc"), dlrMask: dlrMask,
                timeout: timeout)
        case .twilio:
            let user = try required(username, "--sms-username", "the Twilio Account SID (AC…) or an API key SID (SK…)")
            let account = try optionalValue(twilioAccountSID, "--sms-twilio-account-sid") ?? (user.hasPrefix("AC") ? user : nil)
            guard let account else {
                throw SMSGatewayConfigurationError(
                    setting: "--sms-twilio-account-sid", reason: "is required when --sms-username is an API key SID rather than the Account SID")
            }
            guard account.hasPrefix("AC"), account.count > 2, account.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) }) else {
                throw SMSGatewayConfigurationError(
                    setting: twilioAccountSID == nil ? "--sms-username" : "--sms-twilio-account-sid",
                    reason: "must be a Twilio Account SID (AC followed by letters and digits)")
            }
            let sender: TwilioGateway.Sender
            let fromNumber = try optionalValue(from, "--sms-from")
            let service = try optionalValue(twilioMessagingServiceSID, "--sms-twilio-messaging-service-sid")
            switch (fromNumber, service) {
            case (let from?, nil): sender = .from(from)
            case (nil, let service?): sender = .messagingService(service)
            case (nil, nil):
                throw SMSGatewayConfigurationError(
                    setting: "--sms-from", reason: "or --sms-twilio-messaging-service-sid is required with --sms-provider twilio")
            case (_?, _?):
                throw SMSGatewayConfigurationError(
                    setting: "--sms-from", reason: "and --sms-twilio-messaging-service-sid cannot both be set; Twilio takes one sender")
            }
            return TwilioGateway(
                baseURL: try validURL(url, default: "https://api.twilio.com"), accountSID: account, username: user,
                password: try required(password, "--sms-password", "the Twilio auth token or API key secret"), sender: sender,
                timeout: timeout)
        case .vonage:
            return VonageGateway(
                baseURL: try validURL(url, default: "https://rest.nexmo.com"),
                apiKey: try required(username, "--sms-username", "the Vonage api_key"),
                apiSecret: try required(password, "--sms-password", "the Vonage api_secret"),
                from: try required(from, "--sms-from", "the Vonage sender number or id"), timeout: timeout)
        case .aliyun:
            return AliyunGateway(
                endpoint: try validURL(url, default: "https://dysmsapi.aliyuncs.com/"),
                accessKeyID: try required(username, "--sms-username", "the Alibaba Cloud AccessKey ID"),
                accessKeySecret: try required(password, "--sms-password", "the Alibaba Cloud AccessKey secret"),
                signName: try required(aliyunSignName, "--sms-aliyun-sign-name", "the approved SignName"),
                templateCode: try required(aliyunTemplateCode, "--sms-aliyun-template-code", "the approved code template (SMS_…)"),
                linkTemplateCode: try optionalValue(aliyunLinkTemplateCode, "--sms-aliyun-link-template-code"),
                regionID: try optionalValue(aliyunRegion, "--sms-aliyun-region") ?? "cn-hangzhou", timeout: timeout)
        case .http:
            let method = try optionalValue(httpMethod, "--sms-http-method")?.uppercased() ?? "POST"
            guard method.allSatisfy({ $0.isASCII && $0.isLetter }) else {
                throw SMSGatewayConfigurationError(setting: "--sms-http-method", reason: "must be an HTTP method such as POST, PUT or GET")
            }
            let headers = try httpHeaders.map { line throws(SMSGatewayConfigurationError) in try Self.header(line) }
            for status in httpSuccessStatuses where !(100...599).contains(status) {
                throw SMSGatewayConfigurationError(setting: "--sms-http-success-status", reason: "must be HTTP status codes from 100 to 599")
            }
            if password != nil && username == nil {
                throw SMSGatewayConfigurationError(setting: "--sms-password", reason: "needs --sms-username (Basic auth) with --sms-provider http")
            }
            let target = try validURL(url, required: "the gateway URL", allowTemplate: true)
            return try GenericHTTPGateway(
                method: method, url: target, headers: headers, bodyTemplate: httpBody,
                successStatuses: httpSuccessStatuses.isEmpty ? Set(200..<300) : Set(httpSuccessStatuses),
                username: try optionalValue(username, "--sms-username"), password: password, timeout: timeout)
        }
    }

    // MARK: Validation

    /// Rejects settings the chosen provider does not use.
    private func checkOnlyRelevantSettings() throws(SMSGatewayConfigurationError) {
        let given: [(flag: String, isSet: Bool, providers: Set<SMSProvider>)] = [
            ("--sms-url", url != nil, [.kannel, .twilio, .vonage, .aliyun, .http]),
            ("--sms-username", username != nil, [.kannel, .twilio, .vonage, .aliyun, .http]),
            ("--sms-password", password != nil, [.kannel, .twilio, .vonage, .aliyun, .http]),
            ("--sms-from", from != nil, [.kannel, .twilio, .vonage]),
            ("--sms-kannel-smsc", kannelSMSC != nil, [.kannel]),
            ("--sms-kannel-dlr-mask", kannelDLRMask != nil, [.kannel]),
            ("--sms-twilio-account-sid", twilioAccountSID != nil, [.twilio]),
            ("--sms-twilio-messaging-service-sid", twilioMessagingServiceSID != nil, [.twilio]),
            ("--sms-aliyun-sign-name", aliyunSignName != nil, [.aliyun]),
            ("--sms-aliyun-template-code", aliyunTemplateCode != nil, [.aliyun]),
            ("--sms-aliyun-link-template-code", aliyunLinkTemplateCode != nil, [.aliyun]),
            ("--sms-aliyun-region", aliyunRegion != nil, [.aliyun]),
            ("--sms-http-method", httpMethod != nil, [.http]),
            ("--sms-http-header", !httpHeaders.isEmpty, [.http]),
            ("--sms-http-body", httpBody != nil, [.http]),
            ("--sms-http-success-status", !httpSuccessStatuses.isEmpty, [.http]),
        ]
        for setting in given where setting.isSet && !setting.providers.contains(provider) {
            let users = SMSProvider.allCases.filter { setting.providers.contains($0) }.map(\.rawValue).joined(separator: ", ")
            throw SMSGatewayConfigurationError(
                setting: setting.flag, reason: "is not used with --sms-provider \(provider.rawValue) (only with \(users))")
        }
    }

    private func required(_ value: String?, _ flag: String, _ what: String) throws(SMSGatewayConfigurationError) -> String {
        guard let value = try optionalValue(value, flag) else {
            throw SMSGatewayConfigurationError(setting: flag, reason: "is required with --sms-provider \(provider.rawValue): \(what)")
        }
        return value
    }

    /// `nil` when unset; an error when set but empty or containing control characters.
    private func optionalValue(_ value: String?, _ flag: String) throws(SMSGatewayConfigurationError) -> String? {
        guard let value else { return nil }
        guard !value.isEmpty else { throw SMSGatewayConfigurationError(setting: flag, reason: "must not be empty") }
        guard !value.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw SMSGatewayConfigurationError(setting: flag, reason: "must not contain control characters or line breaks")
        }
        return value
    }

    private func validURL(
        _ value: String?, default defaultURL: String? = nil, required what: String? = nil, allowTemplate: Bool = false
    ) throws(SMSGatewayConfigurationError) -> String {
        guard let value = try optionalValue(value, "--sms-url") else {
            if let defaultURL { return defaultURL }
            throw SMSGatewayConfigurationError(
                setting: "--sms-url", reason: "is required with --sms-provider \(provider.rawValue): \(what ?? "the gateway URL")")
        }
        // Template tags are checked by the Mustache compiler; check the URL around them.
        let checked = allowTemplate ? value.replacingOccurrences(of: "{{", with: "").replacingOccurrences(of: "}}", with: "") : value
        guard let components = URLComponents(string: checked), let scheme = components.scheme?.lowercased(),
            scheme == "http" || scheme == "https", let host = components.host, !host.isEmpty
        else {
            throw SMSGatewayConfigurationError(setting: "--sms-url", reason: "must be an absolute http:// or https:// URL")
        }
        guard components.user == nil && components.password == nil else {
            throw SMSGatewayConfigurationError(
                setting: "--sms-url", reason: "must not contain credentials; use --sms-username and --sms-password")
        }
        guard !value.contains(" ") else {
            throw SMSGatewayConfigurationError(setting: "--sms-url", reason: "must not contain spaces (percent-encode them)")
        }
        return value
    }

    /// `Name: value` → a header; the name must be an HTTP token.
    static func header(_ line: String) throws(SMSGatewayConfigurationError) -> HTTPHeader {
        guard let colon = line.firstIndex(of: ":") else {
            throw SMSGatewayConfigurationError(setting: "--sms-http-header", reason: "must look like 'Name: value'")
        }
        let name = String(line[..<colon])
        let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        let tokenCharacters = Set("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
        guard !name.isEmpty, name.allSatisfy({ tokenCharacters.contains($0) }) else {
            throw SMSGatewayConfigurationError(setting: "--sms-http-header", reason: "has an invalid header name")
        }
        guard !value.unicodeScalars.contains(where: { $0.properties.generalCategory == .control && $0 != "\t" }) else {
            throw SMSGatewayConfigurationError(setting: "--sms-http-header", reason: "must not contain control characters or line breaks")
        }
        return HTTPHeader(name, value)
    }
}

/// A setting that cannot work, named by its flag; the value itself is never repeated (it may
/// be a secret).
public struct SMSGatewayConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The flag at fault (`--sms-url`).
    public var setting: String
    /// What is wrong, as the rest of a sentence starting with the flag.
    public var reason: String

    /// Creates an error.
    public init(setting: String, reason: String) {
        self.setting = setting
        self.reason = reason
    }

    /// `--sms-url must be an absolute http:// or https:// URL`.
    public var description: String { "\(setting) \(reason)" }
}

import ContactVerifyCore
import Foundation
import Mustache

/// Any HTTP SMS gateway: a method, a URL, headers and a Mustache body, success by status code.
///
/// Template variables (in the body and the URL):
///
/// | variable | value |
/// |---|---|
/// | `to` | the recipient in E.164 (`+8613800138000`) |
/// | `toDigits` | the recipient without `+` (`8613800138000`) |
/// | `text` | the rendered SMS text |
/// | `id` | the message id (`msg_…`), for gateway-side dedupe |
/// | `reportUrl` | the delivery-report URL; absent when reports are off (`{{#reportUrl}}…{{/reportUrl}}`) |
///
/// Values are escaped for where they land, whatever the tag (`{{x}}` and `{{{x}}}` alike):
/// in the URL and in `application/x-www-form-urlencoded` bodies they are percent-encoded; in a
/// body whose `Content-Type` contains `json` they are JSON-string-escaped (write the quotes in
/// the template: `{"to":"{{to}}","text":"{{text}}"}`); other bodies get them as they are.
/// Templates render as plain text (no HTML entities).
///
/// Answers: a status in the success set (default 200–299) is sent, with no provider id; 429 and
/// 5xx are transient `http_<status>`; anything else is permanent `http_<status>` with the body
/// (``SMSTransport`` scrubs and shortens it).
///
/// ```swift
/// let gateway = try GenericHTTPGateway(
///     url: "https://sms.example/send", headers: [HTTPHeader("Content-Type", "application/json")],
///     bodyTemplate: #"{"to":"{{to}}","message":"{{text}}","ref":"{{id}}"}"#)
/// ```
public struct GenericHTTPGateway: SMSGateway {
    /// How template values are escaped.
    enum Escaping: Sendable, Equatable {
        case none, json, form
    }

    /// The HTTP method (`POST` by default).
    public let method: String
    /// The URL; may contain template variables.
    public let url: String
    /// Headers sent as they are.
    public let headers: [HTTPHeader]
    /// The body template; `nil` sends no body.
    public let bodyTemplate: String?
    /// Statuses that mean the gateway accepted the message.
    public let successStatuses: Set<Int>
    /// Basic-auth user, if any.
    public let username: String?
    /// Basic-auth password, if any.
    public let password: String?
    /// The time limit of one request.
    public let timeout: Duration

    private let compiledURL: MustacheTemplate?
    private let compiledBody: MustacheTemplate?
    private let bodyEscaping: Escaping

    /// Creates the adapter, compiling the templates.
    ///
    /// - Throws: ``SMSGatewayConfigurationError`` when a template is not valid Mustache.
    public init(
        method: String = "POST", url: String, headers: [HTTPHeader] = [], bodyTemplate: String? = nil,
        successStatuses: Set<Int> = Set(200..<300), username: String? = nil, password: String? = nil, timeout: Duration = .seconds(10)
    ) throws(SMSGatewayConfigurationError) {
        self.method = method
        self.url = url
        self.headers = headers
        self.bodyTemplate = bodyTemplate
        self.successStatuses = successStatuses
        self.username = username
        self.password = password
        self.timeout = timeout
        if url.contains("{{") {
            compiledURL = try Self.compile(url, setting: "--sms-url")
        } else {
            compiledURL = nil
        }
        if let bodyTemplate {
            compiledBody = try Self.compile(bodyTemplate, setting: "--sms-http-body")
        } else {
            compiledBody = nil
        }
        let contentType = headers.last { $0.name.lowercased() == "content-type" }?.value.lowercased() ?? ""
        bodyEscaping = contentType.contains("json") ? .json : contentType.contains("x-www-form-urlencoded") ? .form : .none
    }

    public var name: String { "http" }

    public var secretValues: [String] {
        var values = headers.filter { !["content-type", "accept", "user-agent"].contains($0.name.lowercased()) }.map(\.value)
        if let password { values.append(password) }
        return values
    }

    public func request(for message: OutboundMessage) throws(DeliveryError) -> OutboundHTTPRequest {
        guard let text = message.smsText, !text.isEmpty else {
            throw DeliveryError(kind: .permanent, code: "missing_content", message: "SMS message without text")
        }
        let renderedURL = compiledURL.map { $0.render(Self.values(of: message, text: text, escaping: .form)) } ?? url
        let body = compiledBody.map { Array($0.render(Self.values(of: message, text: text, escaping: bodyEscaping)).utf8) } ?? []
        let auth = username.map { (user: $0, password: password ?? "") }
        return OutboundHTTPRequest(method: method, url: renderedURL, headers: headers, body: body, basicAuth: auth, timeout: timeout)
    }

    public func interpret(_ response: InboundHTTPResponse) -> Result<DeliveryReceipt, DeliveryError> {
        if successStatuses.contains(response.status) {
            return .success(DeliveryReceipt(providerMessageID: nil, detail: "the gateway answered HTTP \(response.status)"))
        }
        let snippet = response.text.trimmingWhitespace()
        let error = DeliveryError(
            kind: response.status == 429 || (500..<600).contains(response.status) ? .transient : .permanent,
            code: "http_\(response.status)", message: "the gateway answered HTTP \(response.status)" + (snippet.isEmpty ? "" : ": \(snippet)"))
        return .failure(error)
    }

    // MARK: Templates

    static func compile(_ template: String, setting: String) throws(SMSGatewayConfigurationError) -> MustacheTemplate {
        do {
            return try MustacheTemplate(string: "{{% CONTENT_TYPE: TEXT}}" + template)
        } catch let error as MustacheTemplate.ParserError {
            throw SMSGatewayConfigurationError(
                setting: setting,
                reason: "is not a valid Mustache template (\(error.error) at line \(error.context.lineNumber), column \(error.context.columnNumber))")
        } catch {
            throw SMSGatewayConfigurationError(setting: setting, reason: "is not a valid Mustache template")
        }
    }

    /// The template values, escaped.
    static func values(of message: OutboundMessage, text: String, escaping: Escaping) -> [String: String] {
        var values = [
            "to": message.to, "toDigits": message.to.hasPrefix("+") ? String(message.to.dropFirst()) : message.to, "text": text,
            "id": message.id,
        ]
        if let report = message.deliveryReportURL { values["reportUrl"] = report }
        return values.mapValues { escape($0, escaping) }
    }

    static func escape(_ value: String, _ escaping: Escaping) -> String {
        switch escaping {
        case .none: value
        case .json: String(JSONResponse.quoted(value).dropFirst().dropLast())
        case .form: FormEncoding.percentEncode(value)
        }
    }
}

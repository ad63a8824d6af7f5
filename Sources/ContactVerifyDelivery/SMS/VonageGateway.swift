import ContactVerifyCore
import Foundation

/// The Vonage (Nexmo) SMS API (protocols.md c5).
///
/// Request: `POST {base}/sms/json`, `Accept: application/json`, a form body
/// `api_key=…&api_secret=…&from=…&to=<digits, no +>&text=…[&type=unicode][&callback=…]&client-ref=<message id>`.
/// `type=unicode` is added when the text has a character outside the GSM 7-bit alphabet;
/// `callback` is the message's delivery-report URL, when set.
///
/// Answers: Vonage replies HTTP 200 even on failure, with one `messages[]` entry per part of a
/// concatenated message, and every part must have `status` `"0"`.
///
/// | answer | outcome |
/// |---|---|
/// | every part `"0"` | sent; the first part's `message-id` is the provider id |
/// | a part `1` Throttled, `5` Internal Error, `10` Too Many Binds (and no part succeeded) | transient `vonage_<status>` |
/// | the same, but another part succeeded | ambiguous `vonage_<status>` (a retry re-sends the parts already sent) |
/// | any part with another status (`2`–`4`, `6`–`9`, `11`–`15`, `22`, `29`, …) | permanent `vonage_<status>` with `error-text` |
/// | HTTP 429 / other 5xx / an unreadable 200 / other statuses | transient / ambiguous / ambiguous / permanent `vonage_http_<status>` |
public struct VonageGateway: SMSGateway {
    /// The API base, `https://rest.nexmo.com` (a stub's URL in tests).
    public let baseURL: String
    /// `api_key`.
    public let apiKey: String
    /// `api_secret`.
    public let apiSecret: String
    /// `from`: a virtual number (digits) or an alphanumeric sender id.
    public let from: String
    /// The time limit of one request.
    public let timeout: Duration

    /// Statuses worth retrying.
    static let retryableStatuses: Set<String> = ["1", "5", "10"]

    /// Creates the adapter (``SMSGatewayConfiguration`` validates the settings first).
    public init(
        baseURL: String = "https://rest.nexmo.com", apiKey: String, apiSecret: String, from: String, timeout: Duration = .seconds(10)
    ) {
        self.baseURL = baseURL
        self.apiKey = apiKey
        self.apiSecret = apiSecret
        self.from = from
        self.timeout = timeout
    }

    public var name: String { "vonage" }

    public var secretValues: [String] { [apiSecret] }

    /// The SMS endpoint URL.
    public var smsURL: String { TwilioGateway.trimmingSlashes(baseURL) + "/sms/json" }

    public func request(for message: OutboundMessage) throws(DeliveryError) -> OutboundHTTPRequest {
        guard let text = message.smsText, !text.isEmpty else {
            throw DeliveryError(kind: .permanent, code: "missing_content", message: "SMS message without text")
        }
        var fields: [(String, String)] = [
            ("api_key", apiKey), ("api_secret", apiSecret), ("from", from),
            ("to", message.to.hasPrefix("+") ? String(message.to.dropFirst()) : message.to), ("text", text),
        ]
        if !GSM7.canEncode(text) { fields.append(("type", "unicode")) }
        if let report = message.deliveryReportURL { fields.append(("callback", report)) }
        fields.append(("client-ref", message.id))
        return OutboundHTTPRequest(
            method: "POST", url: smsURL,
            headers: [HTTPHeader("Content-Type", FormEncoding.contentType), HTTPHeader("Accept", "application/json")],
            body: Array(FormEncoding.encode(fields).utf8), timeout: timeout)
    }

    public func interpret(_ response: InboundHTTPResponse) -> Result<DeliveryReceipt, DeliveryError> {
        guard response.status == 200 else {
            let code = "vonage_http_\(response.status)"
            let message = "Vonage answered HTTP \(response.status)"
            return switch response.status {
            case 429: .failure(DeliveryError(kind: .transient, code: code, message: message))
            case 500..<600: .failure(DeliveryError(kind: .ambiguous, code: code, message: message))
            default: .failure(DeliveryError(kind: .permanent, code: code, message: message))
            }
        }
        guard let object = JSONResponse.object(response.body), case .array(let entries)? = object["messages"], !entries.isEmpty
        else {
            return .failure(
                DeliveryError(
                    kind: .ambiguous, code: "vonage_unreadable_response", message: "Vonage answered HTTP 200 without a readable messages list (\(response.unreadableBodyDescription))"))
        }
        var parts: [(status: String, id: String?, errorText: String?)] = []
        for entry in entries {
            guard case .object(let part) = entry, let status = JSONResponse.string(part, "status") else {
                return .failure(
                    DeliveryError(kind: .ambiguous, code: "vonage_unreadable_response", message: "a Vonage message part has no status (\(response.unreadableBodyDescription))"))
            }
            parts.append((status, JSONResponse.string(part, "message-id"), JSONResponse.string(part, "error-text")))
        }
        let failed = parts.filter { $0.status != "0" }
        guard let first = failed.first(where: { !Self.retryableStatuses.contains($0.status) }) ?? failed.first else {
            let detail = parts.count == 1 ? "accepted by Vonage" : "accepted by Vonage in \(parts.count) parts"
            return .success(DeliveryReceipt(providerMessageID: parts[0].id, detail: detail))
        }
        let message = "Vonage status \(first.status): \(first.errorText ?? "no error text")"
        let code = "vonage_\(first.status)"
        if !Self.retryableStatuses.contains(first.status) {
            return .failure(DeliveryError(kind: .permanent, code: code, message: message))
        }
        let someSent = failed.count < parts.count
        return .failure(
            DeliveryError(
                kind: someSent ? .ambiguous : .transient, code: code,
                message: someSent ? message + " (\(parts.count - failed.count) of \(parts.count) parts were sent)" : message))
    }
}

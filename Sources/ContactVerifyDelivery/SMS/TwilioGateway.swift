import ContactVerifyCore
import Foundation

/// Twilio Programmable Messaging (protocols.md c3).
///
/// Request: `POST {base}/2010-04-01/Accounts/{AccountSid}/Messages.json`, HTTP Basic auth
/// (Account SID + auth token, or API key SID + secret), `Accept: application/json`, a form
/// body `To=<E.164>&From=…` (or `MessagingServiceSid=…`) `&Body=…[&StatusCallback=…]`,
/// RFC 3986 percent-encoded. `StatusCallback` is the message's delivery-report URL, when set.
///
/// Answers:
///
/// | answer | outcome |
/// |---|---|
/// | `200`/`201` JSON with `sid` | sent; `sid` is the provider id (a `failed`/`undelivered` status in it is permanent `twilio_<error_code>`) |
/// | `200`/`201` without a JSON `sid` (an HTML page, broken JSON) | ambiguous `twilio_unreadable_response`: not proof of a send (security.md F18) |
/// | `429`, or error code `20429` | transient `twilio_20429` (never processed, safe to retry) |
/// | `5xx` | ambiguous `twilio_<code>` (may have been processed) |
/// | `21211` invalid To, `21610` unsubscribed, `21614` not SMS-capable, `21635` landline, `21612` unroutable | permanent `twilio_<code>` |
/// | `20003` auth, `21606`/`21601` bad From, `21408` geo permission, `21608` trial, any other 4xx | permanent `twilio_<code>` (`twilio_http_<status>` without a code) |
public struct TwilioGateway: SMSGateway {
    /// Who the message is from.
    public enum Sender: Sendable, Equatable {
        /// A Twilio phone number (E.164) or alphanumeric sender id: `From`.
        case from(String)
        /// A Messaging Service, which picks the sender: `MessagingServiceSid`.
        case messagingService(String)
    }

    /// The API base, `https://api.twilio.com` (a stub's URL in tests).
    public let baseURL: String
    /// The account the message belongs to (`AC…`), part of the path.
    public let accountSID: String
    /// The Basic-auth user: the Account SID or an API key SID (`SK…`).
    public let username: String
    /// The Basic-auth password: the auth token or the API key secret.
    public let password: String
    /// `From` or `MessagingServiceSid`.
    public let sender: Sender
    /// The time limit of one request.
    public let timeout: Duration

    /// Creates the adapter (``SMSGatewayConfiguration`` validates the settings first).
    public init(
        baseURL: String = "https://api.twilio.com", accountSID: String, username: String, password: String, sender: Sender,
        timeout: Duration = .seconds(10)
    ) {
        self.baseURL = baseURL
        self.accountSID = accountSID
        self.username = username
        self.password = password
        self.sender = sender
        self.timeout = timeout
    }

    public var name: String { "twilio" }

    public var secretValues: [String] { [password] }

    /// The Messages resource URL.
    public var messagesURL: String {
        Self.trimmingSlashes(baseURL) + "/2010-04-01/Accounts/" + FormEncoding.percentEncode(accountSID) + "/Messages.json"
    }

    public func request(for message: OutboundMessage) throws(DeliveryError) -> OutboundHTTPRequest {
        guard let text = message.smsText, !text.isEmpty else {
            throw DeliveryError(kind: .permanent, code: "missing_content", message: "SMS message without text")
        }
        var fields: [(String, String)] = [("To", message.to)]
        switch sender {
        case .from(let from): fields.append(("From", from))
        case .messagingService(let sid): fields.append(("MessagingServiceSid", sid))
        }
        fields.append(("Body", text))
        if let report = message.deliveryReportURL { fields.append(("StatusCallback", report)) }
        return OutboundHTTPRequest(
            method: "POST", url: messagesURL,
            headers: [HTTPHeader("Content-Type", FormEncoding.contentType), HTTPHeader("Accept", "application/json")],
            body: Array(FormEncoding.encode(fields).utf8), basicAuth: (username, password), timeout: timeout)
    }

    public func interpret(_ response: InboundHTTPResponse) -> Result<DeliveryReceipt, DeliveryError> {
        let object = JSONResponse.object(response.body)
        if response.status == 200 || response.status == 201 {
            let status = JSONResponse.string(object, "status")
            if status == "failed" || status == "undelivered" || status == "canceled" {
                let errorCode = JSONResponse.string(object, "error_code") ?? status ?? "failed"
                return .failure(
                    DeliveryError(kind: .permanent, code: "twilio_\(errorCode)", message: "Twilio reports the message as \(status ?? "failed")"))
            }
            // Twilio's resource always has a sid: a 2xx without one (a proxy's or a portal's
            // HTML page, cut-off JSON) may or may not come from Twilio.
            guard let sid = JSONResponse.string(object, "sid"), !sid.isEmpty else {
                return .failure(
                    DeliveryError(
                        kind: .ambiguous, code: "twilio_unreadable_response",
                        message: "Twilio answered HTTP \(response.status) without a readable message resource (\(response.unreadableBodyDescription))"))
            }
            return .success(DeliveryReceipt(providerMessageID: sid, detail: "Twilio status \(status ?? "unknown")"))
        }
        let twilioCode = JSONResponse.string(object, "code")
        let text = Self.explanation(twilioCode) ?? JSONResponse.string(object, "message") ?? "no error message"
        if response.status == 429 || twilioCode == "20429" {
            return .failure(
                DeliveryError(kind: .transient, code: "twilio_20429", message: "Twilio is rate limiting requests (HTTP \(response.status))"))
        }
        let code = "twilio_" + (twilioCode ?? "http_\(response.status)")
        let message = "Twilio answered HTTP \(response.status)" + (twilioCode.map { " with error \($0)" } ?? "") + ": \(text)"
        if (500..<600).contains(response.status) {
            return .failure(DeliveryError(kind: .ambiguous, code: code, message: message))
        }
        return .failure(DeliveryError(kind: .permanent, code: code, message: message))
    }

    /// Our own words for the documented codes, so Twilio's (which may quote the number) are
    /// not needed.
    static func explanation(_ code: String?) -> String? {
        switch code {
        case "21211": "the number is not a valid phone number"
        case "21610": "the recipient has unsubscribed (replied STOP)"
        case "21614": "the number cannot receive SMS"
        case "21635": "the number is a landline"
        case "21612": "Twilio cannot route to this number"
        case "20003": "authentication failed; check the Twilio credentials"
        case "21606", "21601": "the configured sender cannot send to this number"
        case "21408": "sending to this region is not enabled in the Twilio account (geo permissions)"
        case "21608": "a trial account can only send to verified numbers"
        default: nil
        }
    }

    static func trimmingSlashes(_ url: String) -> String {
        var url = url
        while url.hasSuffix("/") { url.removeLast() }
        return url
    }
}

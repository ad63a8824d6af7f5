import ContactVerifyCore
import Foundation

/// Kannel's smsbox `sendsms` interface (protocols.md c1).
///
/// Request: `GET <sendsms URL>?username=…&password=…[&from=…]&to=<E.164>&text=…&charset=UTF-8`
/// `[&coding=2][&smsc=…][&validity=<minutes>][&dlr-mask=19&dlr-url=…]`, every value RFC 3986 percent-encoded.
/// `coding=2` (UCS-2) is added when the text has a character outside the GSM 7-bit alphabet;
/// `charset=UTF-8` is always sent, so Kannel converts the UTF-8 text itself. `dlr-mask` and
/// `dlr-url` (the message's delivery-report URL plus `status=%d`, which Kannel fills with
/// the DLR value) are sent only when the message has a delivery-report URL. `validity` (whole
/// minutes of the code's remaining lifetime, rounded down, at least 1) is sent when the message
/// has a time to live: bearerbox drops a message still queued after it ("EXPIRED SMS") instead
/// of delivering an expired code once the SMSC returns, and passes it on to the SMSC (F25).
///
/// Answers (Kannel replies with one line of text):
///
/// | answer | outcome |
/// |---|---|
/// | `202` `0: Accepted for delivery`, `3: Queued for later delivery`, `Sent.` (any 2xx) | sent; no provider id (Kannel gives none), the reply as detail |
/// | `503` `Temporal failure, try again later.`, `429` | transient `kannel_503` / `kannel_429` |
/// | `500` `Sending failed.` and other 5xx | ambiguous `kannel_500` (the SMSC may have taken it) |
/// | `403` (`Authorization failed for sendsms`, `Not routable. Do not try again.`), `400`, `415`, other statuses | permanent `kannel_<status>` with Kannel's reply |
///
/// The password travels in the query string, as Kannel requires: keep the gateway on a
/// trusted network or behind HTTPS.
public struct KannelGateway: SMSGateway {
    /// The full sendsms URL, e.g. `http://kannel:13013/cgi-bin/sendsms`.
    public let sendsmsURL: String
    /// The `sendsms-user` name.
    public let username: String
    /// The `sendsms-user` password.
    public let password: String
    /// The sender (`from`); `nil` uses the user's or the global default sender.
    public let from: String?
    /// The SMSC to route through (`smsc`); `nil` lets Kannel route.
    public let smsc: String?
    /// The `dlr-mask` sent with a delivery-report URL. The default, 19, asks for the final
    /// reports only (1 delivered, 2 not delivered, 16 refused by the SMSC): the service ignores
    /// 4 (queued) and 8 (SMSC accepted), and each report costs Kannel an HTTP request (with
    /// 31, Kannel made two callbacks per SMS, the first changing nothing).
    public let dlrMask: Int
    /// The time limit of one request.
    public let timeout: Duration

    /// Creates the adapter (``SMSGatewayConfiguration`` validates the settings first).
    public init(
        sendsmsURL: String, username: String, password: String, from: String? = nil, smsc: String? = nil, dlrMask: Int = 19,
        timeout: Duration = .seconds(10)
    ) {
        self.sendsmsURL = sendsmsURL
        self.username = username
        self.password = password
        self.from = from
        self.smsc = smsc
        self.dlrMask = dlrMask
        self.timeout = timeout
    }

    public var name: String { "kannel" }

    public var secretValues: [String] { [password] }

    public func request(for message: OutboundMessage) throws(DeliveryError) -> OutboundHTTPRequest {
        guard let text = message.smsText, !text.isEmpty else {
            throw DeliveryError(kind: .permanent, code: "missing_content", message: "SMS message without text")
        }
        var fields: [(String, String)] = [("username", username), ("password", password)]
        if let from { fields.append(("from", from)) }
        fields.append(("to", message.to))
        fields.append(("text", text))
        fields.append(("charset", "UTF-8"))
        if !GSM7.canEncode(text) { fields.append(("coding", "2")) }
        if let smsc { fields.append(("smsc", smsc)) }
        if let ttl = message.timeToLive {
            fields.append(("validity", String(max(1, ttl.components.seconds / 60))))
        }
        if let report = message.deliveryReportURL {
            fields.append(("dlr-mask", String(dlrMask)))
            fields.append(("dlr-url", report + (report.utf8.contains(UInt8(ascii: "?")) ? "&" : "?") + "status=%d"))
        }
        return OutboundHTTPRequest(method: "GET", url: FormEncoding.url(sendsmsURL, adding: fields), timeout: timeout)
    }

    public func interpret(_ response: InboundHTTPResponse) -> Result<DeliveryReceipt, DeliveryError> {
        let reply = response.text.trimmingWhitespace()
        let code = "kannel_\(response.status)"
        let message = "Kannel answered HTTP \(response.status)" + (reply.isEmpty ? "" : ": \(reply)")
        switch response.status {
        case 200..<300:
            return .success(DeliveryReceipt(providerMessageID: nil, detail: reply.isEmpty ? "accepted by Kannel" : reply))
        case 429, 503:
            return .failure(DeliveryError(kind: .transient, code: code, message: message))
        case 500..<600:
            return .failure(DeliveryError(kind: .ambiguous, code: code, message: message))
        default:
            return .failure(DeliveryError(kind: .permanent, code: code, message: message))
        }
    }
}

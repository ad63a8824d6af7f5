import ContactVerifyCore
import Foundation

/// Alibaba Cloud SMS `SendSms` (dysmsapi 2017-05-25), RPC style with signature V1
/// (protocols.md c6, ``AliyunSignature``).
///
/// Alibaba Cloud only sends approved templates, so the rendered text is not sent. The adapter
/// reads what the template needs out of it:
///
/// - a **code** message (no `http(s)://` in the text) sends `TemplateCode` with
///   `TemplateParam` `{"code":"<code>"}`; the code is the first run of 4–10 digits, after a
///   leading `[…]`/`【…】` account-name prefix (``SMSContent/code(in:)``). No such run:
///   permanent `aliyun_no_code`.
/// - a **link** message sends the link template with `{"link":"<full link>"}` when one is
///   configured, else fails permanently with `aliyun_link_unsupported` (Alibaba rejects URLs in
///   variables of templates not approved for them: `isv.PARAM_NOT_SUPPORT_URL`).
///
/// Request: `POST {endpoint}` (default `https://dysmsapi.aliyuncs.com/`), a form body with the
/// common parameters (`AccessKeyId, Action=SendSms, Format=JSON, RegionId,
/// SignatureMethod=HMAC-SHA1, SignatureNonce, SignatureVersion=1.0, Timestamp,
/// Version=2017-05-25`), `OutId=<message id>`, `PhoneNumbers`, `SignName`, `TemplateCode`,
/// `TemplateParam`, sorted, and `Signature` last. POST keeps the number and the code out of
/// URLs (and the access logs of proxies).
///
/// `PhoneNumbers` is the E.164 number without `+`, and for mainland China (`+86`) without the
/// country code too (`13800138000`), the form Alibaba documents for domestic numbers;
/// international numbers keep their country code (`85291234567`).
///
/// Answers (`Code` decides; the HTTP status only when there is no readable `Code`):
///
/// | `Code` | outcome |
/// |---|---|
/// | `OK` | sent; `BizId` is the provider id |
/// | `isp.SYSTEM_ERROR`, `ServiceUnavailable`, `Throttling…`, `SignatureNonceUsed` | transient `aliyun_<Code>` |
/// | `isv.BUSINESS_LIMIT_CONTROL`, `isv.DAY_LIMIT_CONTROL`, `isv.MONTH_LIMIT_CONTROL` | transient, retry after at least 60 s |
/// | any other code with HTTP 5xx | ambiguous `aliyun_<Code>` (SendSms is not idempotent) |
/// | `isv.MOBILE_NUMBER_ILLEGAL`, `isv.BLACK_KEY_CONTROL_LIMIT`, configuration codes, others | permanent `aliyun_<Code>` |
/// | no readable `Code`: 429 / 2xx or 5xx / other | transient / ambiguous / permanent `aliyun_http_<status>` |
public struct AliyunGateway: SMSGateway {
    /// The RPC endpoint, `https://dysmsapi.aliyuncs.com/` (a stub's URL in tests).
    public let endpoint: String
    /// `AccessKeyId`.
    public let accessKeyID: String
    /// The AccessKey secret (signs; never sent).
    public let accessKeySecret: String
    /// `SignName`: the approved signature (签名) shown in the message.
    public let signName: String
    /// `TemplateCode` of the approved verification-code template (variable `${code}`).
    public let templateCode: String
    /// `TemplateCode` of an approved template with a `${link}` variable, for link messages.
    public let linkTemplateCode: String?
    /// `RegionId`, `cn-hangzhou` by default.
    public let regionID: String
    /// The time limit of one request.
    public let timeout: Duration
    /// Makes each request's `SignatureNonce` (a UUID by default).
    private let nonce: @Sendable () -> String
    /// The clock for `Timestamp`.
    private let now: @Sendable () -> Date

    /// How long the limit codes make the worker wait at least.
    static let limitRetryAfter: Duration = .seconds(60)

    /// Creates the adapter; `nonce` and `now` are injectable for tests.
    public init(
        endpoint: String = "https://dysmsapi.aliyuncs.com/", accessKeyID: String, accessKeySecret: String, signName: String,
        templateCode: String, linkTemplateCode: String? = nil, regionID: String = "cn-hangzhou", timeout: Duration = .seconds(10),
        nonce: @escaping @Sendable () -> String = { UUID().uuidString.lowercased() },
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.endpoint = endpoint
        self.accessKeyID = accessKeyID
        self.accessKeySecret = accessKeySecret
        self.signName = signName
        self.templateCode = templateCode
        self.linkTemplateCode = linkTemplateCode
        self.regionID = regionID
        self.timeout = timeout
        self.nonce = nonce
        self.now = now
    }

    public var name: String { "aliyun" }

    public var secretValues: [String] { [accessKeySecret] }

    /// `PhoneNumbers` for an E.164 number: no `+`, and no `86` for mainland China.
    public static func phoneNumber(_ e164: String) -> String {
        let digits = e164.hasPrefix("+") ? String(e164.dropFirst()) : e164
        return digits.hasPrefix("86") ? String(digits.dropFirst(2)) : digits
    }

    /// The template and its `TemplateParam` JSON for a rendered text.
    func template(for text: String) throws(DeliveryError) -> (code: String, parameter: String) {
        if let link = SMSContent.link(in: text) {
            guard let linkTemplateCode else {
                throw DeliveryError(
                    kind: .permanent, code: "aliyun_link_unsupported",
                    message: "Alibaba Cloud cannot send verification links without an approved link template (set the link template code)")
            }
            return (linkTemplateCode, "{\"link\":" + JSONResponse.quoted(link) + "}")
        }
        guard let code = SMSContent.code(in: text) else {
            throw DeliveryError(
                kind: .permanent, code: "aliyun_no_code", message: "the SMS text has no verification code for the Alibaba Cloud template")
        }
        return (templateCode, "{\"code\":" + JSONResponse.quoted(code) + "}")
    }

    /// The signed parameters of a request, `Signature` last.
    func parameters(for message: OutboundMessage, text: String) throws(DeliveryError) -> [(String, String)] {
        let (template, parameter) = try template(for: text)
        var parameters: [(String, String)] = [
            ("AccessKeyId", accessKeyID), ("Action", "SendSms"), ("Format", "JSON"), ("OutId", message.id),
            ("PhoneNumbers", Self.phoneNumber(message.to)), ("RegionId", regionID), ("SignName", signName),
            ("SignatureMethod", "HMAC-SHA1"), ("SignatureNonce", nonce()), ("SignatureVersion", "1.0"),
            ("TemplateCode", template), ("TemplateParam", parameter), ("Timestamp", AliyunSignature.timestamp(now())),
            ("Version", "2017-05-25"),
        ]
        parameters.sort { Array($0.0.utf8).lexicographicallyPrecedes(Array($1.0.utf8)) }
        parameters.append(("Signature", AliyunSignature.signature(method: "POST", parameters: parameters, accessKeySecret: accessKeySecret)))
        return parameters
    }

    public func request(for message: OutboundMessage) throws(DeliveryError) -> OutboundHTTPRequest {
        guard let text = message.smsText, !text.isEmpty else {
            throw DeliveryError(kind: .permanent, code: "missing_content", message: "SMS message without text")
        }
        let parameters = try parameters(for: message, text: text)
        return OutboundHTTPRequest(
            method: "POST", url: endpoint,
            headers: [HTTPHeader("Content-Type", FormEncoding.contentType), HTTPHeader("Accept", "application/json")],
            body: Array(FormEncoding.encode(parameters).utf8), timeout: timeout)
    }

    public func interpret(_ response: InboundHTTPResponse) -> Result<DeliveryReceipt, DeliveryError> {
        let object = JSONResponse.object(response.body)
        guard let code = JSONResponse.string(object, "Code") else {
            let code = "aliyun_http_\(response.status)"
            let message = "Alibaba Cloud answered HTTP \(response.status) without a readable Code (\(response.unreadableBodyDescription))"
            return switch response.status {
            case 429: .failure(DeliveryError(kind: .transient, code: code, message: message))
            case 200..<300, 500..<600: .failure(DeliveryError(kind: .ambiguous, code: code, message: message))
            default: .failure(DeliveryError(kind: .permanent, code: code, message: message))
            }
        }
        if code == "OK" {
            return .success(DeliveryReceipt(providerMessageID: JSONResponse.string(object, "BizId"), detail: "accepted by Alibaba Cloud"))
        }
        let text = Self.explanation(code) ?? JSONResponse.string(object, "Message") ?? "no error message"
        let message = "Alibaba Cloud answered \(code): \(text)"
        let errorCode = "aliyun_" + code
        switch code {
        case "isv.BUSINESS_LIMIT_CONTROL", "isv.DAY_LIMIT_CONTROL", "isv.MONTH_LIMIT_CONTROL":
            return .failure(DeliveryError(kind: .transient, code: errorCode, message: message, retryAfter: Self.limitRetryAfter))
        case "isp.SYSTEM_ERROR", "ServiceUnavailable", "SignatureNonceUsed":
            return .failure(DeliveryError(kind: .transient, code: errorCode, message: message))
        case _ where code.hasPrefix("Throttling"):
            return .failure(DeliveryError(kind: .transient, code: errorCode, message: message))
        case _ where (500..<600).contains(response.status):
            return .failure(DeliveryError(kind: .ambiguous, code: errorCode, message: message))
        default:
            return .failure(DeliveryError(kind: .permanent, code: errorCode, message: message))
        }
    }

    /// Our own words for the documented codes.
    static func explanation(_ code: String) -> String? {
        switch code {
        case "isp.SYSTEM_ERROR": "a temporary system error"
        case "isv.BUSINESS_LIMIT_CONTROL": "too many messages to this number; Alibaba Cloud throttles it for a while"
        case "isv.DAY_LIMIT_CONTROL": "the daily sending limit set in the console is reached"
        case "isv.MONTH_LIMIT_CONTROL": "the monthly sending limit set in the console is reached"
        case "isv.MOBILE_NUMBER_ILLEGAL": "the number is not a valid mobile number"
        case "isv.BLACK_KEY_CONTROL_LIMIT": "the number or content is blocked"
        case "isv.DOMESTIC_NUMBER_NOT_SUPPORTED": "this signature or template cannot send to this number's country"
        case "isv.SMS_SIGNATURE_ILLEGAL": "the configured SignName is not approved"
        case "isv.SMS_TEMPLATE_ILLEGAL": "the configured TemplateCode is not approved"
        case "isv.SMS_SIGNATURE_SCENE_ILLEGAL": "the signature cannot be used with this template type"
        case "isv.TEMPLATE_MISSING_PARAMETERS": "the template needs variables this service does not send (it sends code or link)"
        case "isv.INVALID_JSON_PARAM": "TemplateParam was rejected as invalid JSON"
        case "isv.PARAM_LENGTH_LIMIT": "a template variable is too long"
        case "isv.PARAM_NOT_SUPPORT_URL": "the template does not allow URLs in variables; use a template approved for the link"
        case "isp.RAM_PERMISSION_DENY": "the AccessKey lacks permission for SendSms"
        case "isv.ACCOUNT_NOT_EXISTS": "the account does not exist"
        case "isv.AMOUNT_NOT_ENOUGH": "the account balance is too low"
        case "isv.OUT_OF_SERVICE": "the account is out of service"
        case "isv.DENY_IP_RANGE": "this server's IP address is not allowed"
        default: nil
        }
    }
}

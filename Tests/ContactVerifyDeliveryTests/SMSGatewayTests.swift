import ContactVerifyCore
import Crypto
import Foundation
import Synchronization
import Testing

@testable import ContactVerifyDelivery

/// Shared messages and helpers of the SMS adapter tests.
enum SMSFixtures {
    static let codeText = "[Acme] Your verification code is 012345. It expires in 10 minutes. Do not share it."
    static let chineseCodeText = "【Acme】您的验证码为 012345，10 分钟内有效。请勿泄露给他人。"
    static let linkText = "[Acme] Confirm your phone number: https://cv.example/verify/AbC-_123xyz The link expires in 24 hours."
    static let report = "https://cv.example/v1/delivery-reports/ref123"

    static func message(
        _ text: String = codeText, to: String = "+8613800138000", report: String? = nil, id: String = "msg_1"
    ) -> OutboundMessage {
        OutboundMessage(id: id, channel: .sms, to: to, smsText: text, deliveryReportURL: report)
    }

    static func response(_ status: Int, _ body: String, headers: [HTTPHeader] = []) -> InboundHTTPResponse {
        InboundHTTPResponse(status: status, headers: headers, body: Array(body.utf8))
    }

    /// The form fields of a body, decoded (`+` is not a space in our encoding).
    static func form(_ body: [UInt8]) -> [(String, String)] {
        String(decoding: body, as: UTF8.self).split(separator: "&").map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            return (String(parts[0]).removingPercentEncoding ?? "", String(parts.count > 1 ? parts[1] : "").removingPercentEncoding ?? "")
        }
    }
}

extension Result where Success == DeliveryReceipt, Failure == DeliveryError {
    var error: DeliveryError? {
        if case .failure(let error) = self { return error }
        return nil
    }

    var receipt: DeliveryReceipt? {
        if case .success(let receipt) = self { return receipt }
        return nil
    }
}

// MARK: - Kannel

@Suite("SMS gateway: Kannel")
struct KannelGatewayTests {
    let gateway = KannelGateway(sendsmsURL: "http://kannel:13013/cgi-bin/sendsms", username: "cv", password: "p@ss w", from: "Acme")

    @Test("a GSM text is a GET with username, password, from, to, text and charset=UTF-8, percent-encoded")
    func gsmRequest() throws {
        let request = try gateway.request(for: SMSFixtures.message("Your code is 012345."))
        #expect(request.method == "GET")
        #expect(
            request.url
                == "http://kannel:13013/cgi-bin/sendsms?username=cv&password=p%40ss%20w&from=Acme&to=%2B8613800138000"
                + "&text=Your%20code%20is%20012345.&charset=UTF-8")
        #expect(request.headers.isEmpty)
        #expect(request.body.isEmpty)
        #expect(request.basicAuth == nil)
        #expect(request.timeout == .seconds(10))
    }

    @Test("a text outside GSM 7-bit adds coding=2 and still sends UTF-8")
    func unicodeRequest() throws {
        let request = try gateway.request(for: SMSFixtures.message("您的验证码 012345"))
        #expect(
            request.url
                == "http://kannel:13013/cgi-bin/sendsms?username=cv&password=p%40ss%20w&from=Acme&to=%2B8613800138000"
                + "&text=%E6%82%A8%E7%9A%84%E9%AA%8C%E8%AF%81%E7%A0%81%20012345&charset=UTF-8&coding=2")
    }

    @Test("validity is the code's remaining lifetime in whole minutes, rounded down, at least 1; none without a time to live (F25)")
    func validity() throws {
        func url(_ ttl: Duration?) throws -> String {
            var message = SMSFixtures.message("Your code is 012345.")
            message.timeToLive = ttl
            return try gateway.request(for: message).url
        }
        #expect(try url(.seconds(600)).hasSuffix("&charset=UTF-8&validity=10"))
        #expect(try url(.milliseconds(599_900)).hasSuffix("&charset=UTF-8&validity=9"), "never longer than the code lives")
        #expect(try url(.seconds(30)).hasSuffix("&charset=UTF-8&validity=1"))
        #expect(try !url(nil).contains("validity"))
    }

    @Test("GSM extension characters such as € do not need UCS-2")
    func gsmExtension() throws {
        let request = try gateway.request(for: SMSFixtures.message("Your code is 012345. €"))
        #expect(request.url.hasSuffix("&text=Your%20code%20is%20012345.%20%E2%82%AC&charset=UTF-8"))
    }

    @Test("a delivery-report URL adds dlr-mask=19 (final reports) and dlr-url with status=%d, encoded")
    func deliveryReport() throws {
        let request = try gateway.request(for: SMSFixtures.message("Hi 1234", report: SMSFixtures.report))
        #expect(request.url.hasSuffix("&charset=UTF-8&dlr-mask=19&dlr-url=https%3A%2F%2Fcv.example%2Fv1%2Fdelivery-reports%2Fref123%3Fstatus%3D%25d"))
        let withQuery = try gateway.request(for: SMSFixtures.message("Hi 1234", report: SMSFixtures.report + "?x=1"))
        #expect(withQuery.url.hasSuffix("&dlr-url=https%3A%2F%2Fcv.example%2Fv1%2Fdelivery-reports%2Fref123%3Fx%3D1%26status%3D%25d"))
    }

    @Test("no delivery-report URL, no from, an SMSC: no dlr fields, smsc sent")
    func optionalFields() throws {
        let plain = KannelGateway(sendsmsURL: "http://k/cgi-bin/sendsms?account=x", username: "u", password: "p", smsc: "fake", dlrMask: 3)
        let request = try plain.request(for: SMSFixtures.message("Hi 1234"))
        #expect(request.url == "http://k/cgi-bin/sendsms?account=x&username=u&password=p&to=%2B8613800138000&text=Hi%201234&charset=UTF-8&smsc=fake")
        let reported = try plain.request(for: SMSFixtures.message("Hi 1234", report: "https://r/x"))
        #expect(reported.url.contains("&dlr-mask=3&dlr-url="))
    }

    @Test("202 replies are sent, with Kannel's reply as detail and no provider id")
    func accepted() {
        for body in ["0: Accepted for delivery", "3: Queued for later delivery", "Sent."] {
            let receipt = gateway.interpret(SMSFixtures.response(202, body + "\n")).receipt
            #expect(receipt == DeliveryReceipt(providerMessageID: nil, detail: body))
        }
    }

    @Test("403, 400 and 415 are permanent; 503 is transient; 500 is ambiguous")
    func failures() {
        let cases: [(Int, String, DeliveryError.Kind)] = [
            (403, "Authorization failed for sendsms", .permanent), (403, "Not routable. Do not try again.", .permanent),
            (400, "Missing receiver number, rejected", .permanent), (400, "Charset or body misformed, rejected", .permanent),
            (415, "Unsupported content-type, rejected", .permanent), (503, "Temporal failure, try again later.", .transient),
            (500, "Sending failed.", .ambiguous), (429, "", .transient),
        ]
        for (status, body, kind) in cases {
            let error = gateway.interpret(SMSFixtures.response(status, body)).error
            #expect(error?.kind == kind, "\(status) \(body)")
            #expect(error?.code == "kannel_\(status)")
            #expect(error?.message == "Kannel answered HTTP \(status)" + (body.isEmpty ? "" : ": \(body)"))
        }
    }
}

// MARK: - Twilio

@Suite("SMS gateway: Twilio")
struct TwilioGatewayTests {
    let gateway = TwilioGateway(
        baseURL: "https://api.twilio.com/", accountSID: "AC0123456789abcdef0123456789abcdef", username: "SKkey", password: "tok3n",
        sender: .from("+15005550006"))

    @Test("a message is a form POST to Messages.json with Basic auth, To, From, Body and StatusCallback")
    func request() throws {
        let request = try gateway.request(for: SMSFixtures.message("Code: 012345 & more", to: "+15005550001", report: SMSFixtures.report))
        #expect(request.method == "POST")
        #expect(request.url == "https://api.twilio.com/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/Messages.json")
        #expect(request.headers == [HTTPHeader("Content-Type", "application/x-www-form-urlencoded"), HTTPHeader("Accept", "application/json")])
        #expect(request.basicAuth?.user == "SKkey")
        #expect(request.basicAuth?.password == "tok3n")
        #expect(
            String(decoding: request.body, as: UTF8.self)
                == "To=%2B15005550001&From=%2B15005550006&Body=Code%3A%20012345%20%26%20more"
                + "&StatusCallback=https%3A%2F%2Fcv.example%2Fv1%2Fdelivery-reports%2Fref123")
    }

    @Test("a Messaging Service replaces From; no report URL, no StatusCallback")
    func messagingService() throws {
        let service = TwilioGateway(accountSID: "ACx", username: "ACx", password: "t", sender: .messagingService("MG123"))
        let request = try service.request(for: SMSFixtures.message("Hi", to: "+15005550001"))
        #expect(request.url == "https://api.twilio.com/2010-04-01/Accounts/ACx/Messages.json")
        #expect(String(decoding: request.body, as: UTF8.self) == "To=%2B15005550001&MessagingServiceSid=MG123&Body=Hi")
    }

    @Test("201 with a sid is sent, the sid being the provider id")
    func created() {
        let body = #"{"sid":"SM0123456789abcdef0123456789abcdef","status":"queued","to":"+15005550001"}"#
        #expect(
            gateway.interpret(SMSFixtures.response(201, body)).receipt
                == DeliveryReceipt(providerMessageID: "SM0123456789abcdef0123456789abcdef", detail: "Twilio status queued"))
    }

    @Test("a 201 whose status is failed is permanent")
    func createdButFailed() {
        let error = gateway.interpret(SMSFixtures.response(201, #"{"sid":"SM1","status":"failed","error_code":30006}"#)).error
        #expect(error?.kind == .permanent)
        #expect(error?.code == "twilio_30006")
    }

    static func errorBody(_ code: Int, _ status: Int, _ message: String = "Twilio says no") -> String {
        #"{"code":\#(code),"message":"\#(message)","more_info":"https://www.twilio.com/docs/errors/\#(code)","status":\#(status)}"#
    }

    @Test("429 and code 20429 are transient twilio_20429")
    func rateLimited() {
        for response in [SMSFixtures.response(429, Self.errorBody(20429, 429)), SMSFixtures.response(429, "")] {
            let error = gateway.interpret(response).error
            #expect(error?.kind == .transient)
            #expect(error?.code == "twilio_20429")
        }
    }

    @Test("the documented address errors are permanent twilio_<code>, in our own words")
    func addressErrors() {
        for code in [21211, 21610, 21614, 21635, 21612] {
            let error = gateway.interpret(SMSFixtures.response(400, Self.errorBody(code, 400, "The 'To' number +15005550001 is not valid"))).error
            #expect(error?.kind == .permanent)
            #expect(error?.code == "twilio_\(code)")
            #expect(error?.message.contains("+15005550001") == false)
        }
    }

    @Test("authentication and configuration errors are permanent")
    func configurationErrors() {
        for (code, status) in [(20003, 401), (21606, 400), (21601, 400), (21408, 400), (21608, 400), (21999, 400)] {
            let error = gateway.interpret(SMSFixtures.response(status, Self.errorBody(code, status))).error
            #expect(error?.kind == .permanent)
            #expect(error?.code == "twilio_\(code)")
        }
        let unknown = gateway.interpret(SMSFixtures.response(404, "<html>not found</html>")).error
        #expect(unknown?.code == "twilio_http_404")
        #expect(unknown?.kind == .permanent)
    }

    @Test("5xx is ambiguous: Twilio may have created the message")
    func serverErrors() {
        let error = gateway.interpret(SMSFixtures.response(500, Self.errorBody(20500, 500, "Internal Server Error"))).error
        #expect(error?.kind == .ambiguous)
        #expect(error?.code == "twilio_20500")
        #expect(gateway.interpret(SMSFixtures.response(503, "")).error == DeliveryError(
            kind: .ambiguous, code: "twilio_http_503", message: "Twilio answered HTTP 503: no error message"))
    }

    @Test("an unreadable 2xx is named by its type, length and a SHA-256 with digits masked: no code can be read back, and another page hashes differently (F18)")
    func unreadableBodyHash() throws {
        func error(_ body: String) throws -> DeliveryError {
            try #require(gateway.interpret(
                SMSFixtures.response(200, body, headers: [HTTPHeader("Content-Type", "text/html")])).error)
        }
        let page = "<html><p>Your verification code is 012345</p></html>"
        let first = try error(page)
        #expect(first.kind == .ambiguous)
        #expect(first.code == "twilio_unreadable_response")
        let masked = Array(page.utf8).map { (48...57).contains($0) ? UInt8(48) : $0 }
        let hex = SHA256.hash(data: masked).prefix(8).map { String(format: "%02x", $0) }.joined()
        #expect(first.message.contains("text/html, \(page.utf8.count) bytes, body SHA-256 \(hex)"), "\(first.message)")
        #expect(!first.message.contains("012345"))
        // The same page with another code cannot be told apart; another page can.
        #expect(try error(page.replacingOccurrences(of: "012345", with: "987654")).message == first.message)
        #expect(try error("<html><p>Maintenance until 012345</p></html>").message != first.message)
    }
}

// MARK: - Vonage

@Suite("SMS gateway: Vonage")
struct VonageGatewayTests {
    let gateway = VonageGateway(baseURL: "https://rest.nexmo.com", apiKey: "key1", apiSecret: "s3cret", from: "Acme")

    @Test("a message is a form POST to /sms/json with the key, secret, from, to without +, text and client-ref")
    func request() throws {
        let request = try gateway.request(for: SMSFixtures.message("Code 012345", id: "msg_abc"))
        #expect(request.method == "POST")
        #expect(request.url == "https://rest.nexmo.com/sms/json")
        #expect(request.headers == [HTTPHeader("Content-Type", "application/x-www-form-urlencoded"), HTTPHeader("Accept", "application/json")])
        #expect(request.basicAuth == nil)
        #expect(
            String(decoding: request.body, as: UTF8.self)
                == "api_key=key1&api_secret=s3cret&from=Acme&to=8613800138000&text=Code%20012345&client-ref=msg_abc")
    }

    @Test("non-GSM text adds type=unicode; a report URL adds callback")
    func unicodeAndCallback() throws {
        let request = try gateway.request(for: SMSFixtures.message(SMSFixtures.chineseCodeText, report: SMSFixtures.report))
        let fields = SMSFixtures.form(request.body)
        #expect(fields.map(\.0) == ["api_key", "api_secret", "from", "to", "text", "type", "callback", "client-ref"])
        #expect(fields.first { $0.0 == "text" }?.1 == SMSFixtures.chineseCodeText)
        #expect(fields.first { $0.0 == "type" }?.1 == "unicode")
        #expect(fields.first { $0.0 == "callback" }?.1 == SMSFixtures.report)
    }

    static func body(_ parts: [(status: String, id: String, error: String?)]) -> String {
        let entries = parts.map { part in
            var entry = #"{"to":"8613800138000","message-id":"\#(part.id)","status":"\#(part.status)""#
            if let error = part.error { entry += #","error-text":"\#(error)""# }
            return entry + #","remaining-balance":"3.14","message-price":"0.05","network":"46000"}"#
        }
        return #"{"message-count":"\#(parts.count)","messages":[\#(entries.joined(separator: ","))]}"#
    }

    @Test("every part 0 is sent, the first message-id being the provider id")
    func accepted() {
        #expect(
            gateway.interpret(SMSFixtures.response(200, Self.body([("0", "0A0000001", nil)]))).receipt
                == DeliveryReceipt(providerMessageID: "0A0000001", detail: "accepted by Vonage"))
        #expect(
            gateway.interpret(SMSFixtures.response(200, Self.body([("0", "0A0000001", nil), ("0", "0A0000002", nil)]))).receipt
                == DeliveryReceipt(providerMessageID: "0A0000001", detail: "accepted by Vonage in 2 parts"))
    }

    @Test("statuses 1, 5 and 10 are transient vonage_<status>")
    func transient() {
        for status in ["1", "5", "10"] {
            let error = gateway.interpret(SMSFixtures.response(200, Self.body([(status, "", "Throttled")]))).error
            #expect(error == DeliveryError(kind: .transient, code: "vonage_\(status)", message: "Vonage status \(status): Throttled"))
        }
    }

    @Test("other statuses are permanent vonage_<status> with the error text")
    func permanent() {
        for status in ["2", "3", "4", "6", "7", "8", "9", "11", "12", "14", "15", "22", "29"] {
            let error = gateway.interpret(SMSFixtures.response(200, Self.body([(status, "", "Bad thing")]))).error
            #expect(error == DeliveryError(kind: .permanent, code: "vonage_\(status)", message: "Vonage status \(status): Bad thing"))
        }
    }

    @Test("every part is checked: a failed second part fails the message")
    func everyPartChecked() {
        let mixed = gateway.interpret(SMSFixtures.response(200, Self.body([("0", "0A1", nil), ("1", "", "Throttled")]))).error
        #expect(mixed?.kind == .ambiguous)
        #expect(mixed?.code == "vonage_1")
        let permanent = gateway.interpret(SMSFixtures.response(200, Self.body([("1", "", "Throttled"), ("6", "", "Invalid Message")]))).error
        #expect(permanent?.kind == .permanent)
        #expect(permanent?.code == "vonage_6")
    }

    @Test("HTTP errors and unreadable answers")
    func httpErrors() {
        #expect(gateway.interpret(SMSFixtures.response(429, "")).error?.kind == .transient)
        #expect(gateway.interpret(SMSFixtures.response(500, "")).error?.kind == .ambiguous)
        #expect(gateway.interpret(SMSFixtures.response(401, "")).error == DeliveryError(kind: .permanent, code: "vonage_http_401", message: "Vonage answered HTTP 401"))
        #expect(gateway.interpret(SMSFixtures.response(200, "<html>")).error?.code == "vonage_unreadable_response")
        #expect(gateway.interpret(SMSFixtures.response(200, #"{"message-count":"0","messages":[]}"#)).error?.kind == .ambiguous)
    }
}

// MARK: - Alibaba Cloud

@Suite("SMS gateway: Alibaba Cloud")
struct AliyunGatewayTests {
    static func gateway(linkTemplate: String? = nil) -> AliyunGateway {
        AliyunGateway(
            endpoint: "https://dysmsapi.aliyuncs.com/", accessKeyID: "LTAIkey", accessKeySecret: "aliSecret", signName: "Acme",
            templateCode: "SMS_1", linkTemplateCode: linkTemplate, nonce: { "nonce-1" }, now: { Date(timeIntervalSince1970: 1_700_000_000) })
    }

    @Test("PhoneNumbers drops + and, for mainland China, the 86")
    func phoneNumbers() {
        #expect(AliyunGateway.phoneNumber("+8613800138000") == "13800138000")
        #expect(AliyunGateway.phoneNumber("+85291234567") == "85291234567")
        #expect(AliyunGateway.phoneNumber("+14155550100") == "14155550100")
    }

    @Test("a code message is a signed form POST with the code template and {\"code\":…}")
    func codeRequest() throws {
        let request = try Self.gateway().request(for: SMSFixtures.message(id: "msg_9"))
        #expect(request.method == "POST")
        #expect(request.url == "https://dysmsapi.aliyuncs.com/")
        #expect(request.headers == [HTTPHeader("Content-Type", "application/x-www-form-urlencoded"), HTTPHeader("Accept", "application/json")])
        #expect(request.basicAuth == nil)
        let fields = SMSFixtures.form(request.body)
        #expect(
            fields.map(\.0) == [
                "AccessKeyId", "Action", "Format", "OutId", "PhoneNumbers", "RegionId", "SignName", "SignatureMethod", "SignatureNonce",
                "SignatureVersion", "TemplateCode", "TemplateParam", "Timestamp", "Version", "Signature",
            ])
        let values = Dictionary(uniqueKeysWithValues: fields)
        #expect(values["Action"] == "SendSms")
        #expect(values["Format"] == "JSON")
        #expect(values["OutId"] == "msg_9")
        #expect(values["PhoneNumbers"] == "13800138000")
        #expect(values["RegionId"] == "cn-hangzhou")
        #expect(values["SignatureNonce"] == "nonce-1")
        #expect(values["Timestamp"] == "2023-11-14T22:13:20Z")
        #expect(values["TemplateCode"] == "SMS_1")
        #expect(values["TemplateParam"] == #"{"code":"012345"}"#)
        #expect(values["Version"] == "2017-05-25")
        let unsigned = fields.filter { $0.0 != "Signature" }
        #expect(values["Signature"] == AliyunSignature.signature(method: "POST", parameters: unsigned, accessKeySecret: "aliSecret"))
        #expect(!String(decoding: request.body, as: UTF8.self).contains("aliSecret"))
    }

    @Test("a link message fails aliyun_link_unsupported without a link template")
    func linkUnsupported() {
        #expect(throws: DeliveryError.self) { try Self.gateway().request(for: SMSFixtures.message(SMSFixtures.linkText)) }
        do {
            _ = try Self.gateway().request(for: SMSFixtures.message(SMSFixtures.linkText))
        } catch {
            #expect(error.kind == .permanent)
            #expect(error.code == "aliyun_link_unsupported")
        }
    }

    @Test("a link message uses the link template with {\"link\":…}")
    func linkTemplate() throws {
        let request = try Self.gateway(linkTemplate: "SMS_LINK").request(for: SMSFixtures.message(SMSFixtures.linkText))
        let values = Dictionary(uniqueKeysWithValues: SMSFixtures.form(request.body))
        #expect(values["TemplateCode"] == "SMS_LINK")
        #expect(values["TemplateParam"] == #"{"link":"https://cv.example/verify/AbC-_123xyz"}"#)
    }

    @Test("a text without a code fails aliyun_no_code")
    func noCode() {
        do {
            _ = try Self.gateway().request(for: SMSFixtures.message("Hello there, 12 days"))
            Issue.record("expected an error")
        } catch {
            #expect(error.code == "aliyun_no_code")
            #expect(error.kind == .permanent)
        }
    }

    static func body(_ code: String, message: String = "msg") -> String {
        #"{"Code":"\#(code)","Message":"\#(message)","BizId":"900619746936498440^0","RequestId":"F655A8D5-B967-440B-8683-DAD6FF8DE990"}"#
    }

    @Test("Code OK is sent, BizId being the provider id")
    func accepted() {
        #expect(
            Self.gateway().interpret(SMSFixtures.response(200, Self.body("OK", message: "OK"))).receipt
                == DeliveryReceipt(providerMessageID: "900619746936498440^0", detail: "accepted by Alibaba Cloud"))
    }

    @Test("system errors and limits are transient; the limits wait at least 60 s")
    func transient() {
        let system = Self.gateway().interpret(SMSFixtures.response(200, Self.body("isp.SYSTEM_ERROR"))).error
        #expect(system?.kind == .transient)
        #expect(system?.code == "aliyun_isp.SYSTEM_ERROR")
        #expect(system?.retryAfter == nil)
        for code in ["isv.BUSINESS_LIMIT_CONTROL", "isv.DAY_LIMIT_CONTROL", "isv.MONTH_LIMIT_CONTROL"] {
            let error = Self.gateway().interpret(SMSFixtures.response(200, Self.body(code))).error
            #expect(error?.kind == .transient)
            #expect(error?.code == "aliyun_\(code)")
            #expect((error?.retryAfter ?? .zero) >= .seconds(60))
        }
        #expect(Self.gateway().interpret(SMSFixtures.response(400, Self.body("Throttling.User"))).error?.kind == .transient)
    }

    @Test("address and configuration errors are permanent aliyun_<Code>")
    func permanent() {
        for code in [
            "isv.MOBILE_NUMBER_ILLEGAL", "isv.BLACK_KEY_CONTROL_LIMIT", "isv.DOMESTIC_NUMBER_NOT_SUPPORTED", "isv.SMS_SIGNATURE_ILLEGAL",
            "isv.SMS_TEMPLATE_ILLEGAL", "isv.TEMPLATE_MISSING_PARAMETERS", "isv.PARAM_NOT_SUPPORT_URL", "isv.AMOUNT_NOT_ENOUGH",
            "SignatureDoesNotMatch", "InvalidAccessKeyId.NotFound",
        ] {
            let error = Self.gateway().interpret(SMSFixtures.response(code.hasPrefix("isv.") ? 200 : 400, Self.body(code))).error
            #expect(error?.kind == .permanent, "\(code)")
            #expect(error?.code == "aliyun_\(code)")
            #expect(error?.retryAfter == nil)
        }
    }

    @Test("without a readable Code: 5xx and 2xx are ambiguous, 429 transient, 4xx permanent")
    func unreadable() {
        #expect(Self.gateway().interpret(SMSFixtures.response(500, "oops")).error?.kind == .ambiguous)
        #expect(Self.gateway().interpret(SMSFixtures.response(200, "oops")).error?.kind == .ambiguous)
        #expect(Self.gateway().interpret(SMSFixtures.response(429, "")).error?.kind == .transient)
        #expect(Self.gateway().interpret(SMSFixtures.response(404, "")).error?.code == "aliyun_http_404")
        #expect(Self.gateway().interpret(SMSFixtures.response(503, Self.body("ServiceUnavailable"))).error?.kind == .transient)
        #expect(Self.gateway().interpret(SMSFixtures.response(500, Self.body("InternalError"))).error?.kind == .ambiguous)
    }
}

// MARK: - Generic HTTP

@Suite("SMS gateway: generic HTTP")
struct GenericHTTPGatewayTests {
    @Test("a JSON body escapes every value for a JSON string")
    func jsonBody() throws {
        let gateway = try GenericHTTPGateway(
            url: "https://sms.example/send", headers: [HTTPHeader("Content-Type", "application/json"), HTTPHeader("X-Api-Key", "k3y")],
            bodyTemplate: #"{"to":"{{to}}","text":"{{{text}}}","id":"{{id}}"{{#reportUrl}},"report":"{{reportUrl}}"{{/reportUrl}}}"#)
        let text = "Line \"one\"\n\\ <b>&</b> 012345"
        let request = try gateway.request(for: SMSFixtures.message(text, report: SMSFixtures.report))
        #expect(request.method == "POST")
        #expect(request.url == "https://sms.example/send")
        #expect(request.headers == [HTTPHeader("Content-Type", "application/json"), HTTPHeader("X-Api-Key", "k3y")])
        let body = String(decoding: request.body, as: UTF8.self)
        #expect(
            body == #"{"to":"+8613800138000","text":"Line \"one\"\n\\ <b>&</b> 012345","id":"msg_1","report":"https://cv.example/v1/delivery-reports/ref123"}"#)
        let decoded = try JSONSerialization.jsonObject(with: Data(request.body)) as? [String: String]
        #expect(decoded?["text"] == text)
        let withoutReport = try gateway.request(for: SMSFixtures.message(text))
        #expect(!String(decoding: withoutReport.body, as: UTF8.self).contains("report"))
    }

    @Test("a form body and a templated URL percent-encode values; Basic auth is passed on")
    func formBodyAndURL() throws {
        let gateway = try GenericHTTPGateway(
            method: "PUT", url: "https://sms.example/send/{{toDigits}}?ref={{id}}",
            headers: [HTTPHeader("Content-Type", "application/x-www-form-urlencoded")], bodyTemplate: "to={{to}}&msg={{text}}",
            username: "u", password: "p")
        let request = try gateway.request(for: SMSFixtures.message("a b&c=d+é"))
        #expect(request.method == "PUT")
        #expect(request.url == "https://sms.example/send/8613800138000?ref=msg_1")
        #expect(String(decoding: request.body, as: UTF8.self) == "to=%2B8613800138000&msg=a%20b%26c%3Dd%2B%C3%A9")
        #expect(request.basicAuth?.user == "u")
        #expect(request.basicAuth?.password == "p")
    }

    @Test("a text body takes values as they are, without HTML escaping")
    func textBody() throws {
        let gateway = try GenericHTTPGateway(url: "https://sms.example/send", headers: [HTTPHeader("Content-Type", "text/plain")], bodyTemplate: "{{to}} {{text}}")
        let request = try gateway.request(for: SMSFixtures.message("<a&b>"))
        #expect(String(decoding: request.body, as: UTF8.self) == "+8613800138000 <a&b>")
    }

    @Test("success by status set; 429 and 5xx transient; other statuses permanent with the start of the body")
    func interpretation() throws {
        let gateway = try GenericHTTPGateway(url: "https://sms.example/send", successStatuses: [200, 202])
        #expect(gateway.interpret(SMSFixtures.response(202, "ok")).receipt == DeliveryReceipt(providerMessageID: nil, detail: "the gateway answered HTTP 202"))
        #expect(gateway.interpret(SMSFixtures.response(201, "ok")).error?.kind == .permanent)
        #expect(gateway.interpret(SMSFixtures.response(429, "")).error?.kind == .transient)
        #expect(gateway.interpret(SMSFixtures.response(502, "")).error?.kind == .transient)
        #expect(
            gateway.interpret(SMSFixtures.response(400, " bad number \n")).error
                == DeliveryError(kind: .permanent, code: "http_400", message: "the gateway answered HTTP 400: bad number"))
    }

    @Test("an invalid template is a configuration error naming the setting")
    func invalidTemplate() {
        #expect(throws: SMSGatewayConfigurationError.self) { try GenericHTTPGateway(url: "https://x/", bodyTemplate: "{{#to}}") }
    }
}

// MARK: - Content and encodings

@Suite("SMS content helpers")
struct SMSContentTests {
    @Test("the code is the first 4–10 digit run after the account-name prefix")
    func code() {
        #expect(SMSContent.code(in: SMSFixtures.codeText) == "012345")
        #expect(SMSContent.code(in: SMSFixtures.chineseCodeText) == "012345")
        #expect(SMSContent.code(in: "[Shop 2024] Your verification code is 9876543210.") == "9876543210")
        #expect(SMSContent.code(in: "【店铺8888】您的验证码为 4321，10 分钟内有效。") == "4321")
        #expect(SMSContent.code(in: "Code 123 then 12345678901 then 5555") == "5555")
        #expect(SMSContent.code(in: "no digits here") == nil)
        #expect(SMSContent.code(in: "1234") == "1234")
    }

    @Test("the link is the first http(s) URL, without trailing punctuation")
    func link() {
        #expect(SMSContent.link(in: SMSFixtures.linkText) == "https://cv.example/verify/AbC-_123xyz")
        #expect(SMSContent.link(in: "请打开链接：https://cv.example/verify/tok_1。") == "https://cv.example/verify/tok_1")
        #expect(SMSContent.link(in: "Open http://localhost:8080/verify/x.") == "http://localhost:8080/verify/x")
        #expect(SMSContent.link(in: SMSFixtures.codeText) == nil)
    }

    @Test("GSM 7-bit: the default alphabet and extension table pass; CJK and emoji do not")
    func gsm7() {
        #expect(GSM7.canEncode("Hello @ £ $ ¥ è é ù ì ò Ç Ø ø Å å Δ _ Φ Γ Λ Ω Π Ψ Σ Θ Ξ Æ æ ß É ¡ Ä Ö Ñ Ü § ¿ ä ö ñ ü à 0-9 !\"#¤%&'()*+,-./:;<=>?"))
        #expect(GSM7.canEncode("^{}\\[~]|€"))
        #expect(!GSM7.canEncode("验证码"))
        #expect(!GSM7.canEncode("🙂"))
        #expect(!GSM7.canEncode("`"))
    }

    @Test("Retry-After reads delta-seconds and HTTP dates")
    func retryAfter() {
        let now = Date(timeIntervalSince1970: 1_445_412_420)  // Wed, 21 Oct 2015 07:27:00 GMT
        #expect(RetryAfter.parse("120", now: now) == .seconds(120))
        #expect(RetryAfter.parse(" 0 ", now: now) == .zero)
        #expect(RetryAfter.parse("Wed, 21 Oct 2015 07:28:00 GMT", now: now) == .seconds(60))
        #expect(RetryAfter.parse("Wednesday, 21-Oct-15 07:28:00 GMT", now: now) == .seconds(60))
        #expect(RetryAfter.parse("Wed Oct 21 07:28:00 2015", now: now) == .seconds(60))
        #expect(RetryAfter.parse("Wed, 21 Oct 2015 07:00:00 GMT", now: now) == .zero)
        #expect(RetryAfter.parse("99999999999", now: now) == RetryAfter.maximum)
        #expect(RetryAfter.parse("soon", now: now) == nil)
        #expect(RetryAfter.parse("-5", now: now) == nil)
    }
}

// MARK: - Transport

/// An HTTP client that answers from a script and records requests.
final class ScriptedHTTPClient: HTTPClient {
    private let state: Mutex<(answers: [Result<InboundHTTPResponse, HTTPClientError>], requests: [OutboundHTTPRequest])>

    init(_ answers: [Result<InboundHTTPResponse, HTTPClientError>]) {
        state = Mutex((answers, []))
    }

    var requests: [OutboundHTTPRequest] { state.withLock { $0.requests } }

    func send(_ request: OutboundHTTPRequest) async throws(HTTPClientError) -> InboundHTTPResponse {
        let answer = state.withLock { state in
            state.requests.append(request)
            return state.answers.isEmpty ? .failure(HTTPClientError(kind: .notSent, message: "no answer scripted")) : state.answers.removeFirst()
        }
        return try answer.get()
    }
}

/// A gateway that reports whatever it is told, for the transport's own rules.
struct FixedGateway: SMSGateway {
    var result: Result<DeliveryReceipt, DeliveryError>
    var name: String { "fixed" }
    var secretValues: [String] { ["hunter22"] }

    func request(for message: OutboundMessage) throws(DeliveryError) -> OutboundHTTPRequest {
        OutboundHTTPRequest(method: "POST", url: "https://fixed.example/")
    }

    func interpret(_ response: InboundHTTPResponse) -> Result<DeliveryReceipt, DeliveryError> { result }
}

@Suite("SMS transport")
struct SMSTransportTests {
    static func deliver(
        _ transport: SMSTransport, _ message: OutboundMessage = SMSFixtures.message()
    ) async -> Result<DeliveryReceipt, DeliveryError> {
        do {
            return .success(try await transport.deliver(message))
        } catch {
            return .failure(error)
        }
    }

    @Test("client failures: notSent transient, ambiguous ambiguous, responseTooLarge ambiguous, invalidRequest permanent")
    func clientFailures() async {
        let kannel = KannelGateway(sendsmsURL: "http://k/cgi-bin/sendsms", username: "u", password: "pw123")
        let cases: [(HTTPClientError.Kind, DeliveryError.Kind, String)] = [
            (.notSent, .transient, "http_not_sent"), (.ambiguous, .ambiguous, "http_ambiguous"),
            (.responseTooLarge, .ambiguous, "http_response_too_large"), (.invalidRequest, .permanent, "http_invalid_request"),
        ]
        for (clientKind, kind, code) in cases {
            let client = ScriptedHTTPClient([.failure(HTTPClientError(kind: clientKind, message: "failed for http://k/?password=pw123"))])
            let error = await Self.deliver(SMSTransport(gateway: kannel, client: client)).error
            #expect(error?.kind == kind)
            #expect(error?.code == code)
            #expect(error?.message.contains("pw123") == false)
            #expect(client.requests.count == 1)
        }
    }

    @Test("a success returns the gateway's receipt after one request")
    func success() async {
        let kannel = KannelGateway(sendsmsURL: "http://k/cgi-bin/sendsms", username: "u", password: "pw123")
        let client = ScriptedHTTPClient([.success(SMSFixtures.response(202, "0: Accepted for delivery"))])
        let receipt = await Self.deliver(SMSTransport(gateway: kannel, client: client)).receipt
        #expect(receipt == DeliveryReceipt(providerMessageID: nil, detail: "0: Accepted for delivery"))
        #expect(client.requests.map(\.method) == ["GET"])

        let denied = ScriptedHTTPClient([.success(SMSFixtures.response(202, "Sent. Denied receivers are: 8613800138000"))])
        let scrubbed = await Self.deliver(SMSTransport(gateway: kannel, client: denied)).receipt
        #expect(scrubbed?.detail == "Sent. Denied receivers are: [redacted]")
        let twilio = TwilioGateway(accountSID: "ACx", username: "ACx", password: "t", sender: .from("+1"))
        let created = ScriptedHTTPClient([.success(SMSFixtures.response(201, #"{"sid":"SM8613800138000","status":"queued"}"#))])
        let kept = await Self.deliver(SMSTransport(gateway: twilio, client: created)).receipt
        #expect(kept?.providerMessageID == "SM8613800138000")
    }

    @Test("Retry-After in seconds or as a date sets retryAfter of a transient failure; the larger wait wins")
    func retryAfter() async {
        let now = Date(timeIntervalSince1970: 1_445_412_420)
        let transient = FixedGateway(result: .failure(DeliveryError(kind: .transient, code: "x", message: "busy")))
        let seconds = ScriptedHTTPClient([.success(SMSFixtures.response(503, "", headers: [HTTPHeader("retry-after", "30")]))])
        #expect(await Self.deliver(SMSTransport(gateway: transient, client: seconds, now: { now })).error?.retryAfter == .seconds(30))
        let date = ScriptedHTTPClient([.success(SMSFixtures.response(503, "", headers: [HTTPHeader("Retry-After", "Wed, 21 Oct 2015 07:29:00 GMT")]))])
        #expect(await Self.deliver(SMSTransport(gateway: transient, client: date, now: { now })).error?.retryAfter == .seconds(120))
        let aliyun = AliyunGatewayTests.gateway()
        let limited = ScriptedHTTPClient([.success(SMSFixtures.response(200, AliyunGatewayTests.body("isv.BUSINESS_LIMIT_CONTROL"), headers: [HTTPHeader("Retry-After", "5")]))])
        #expect(await Self.deliver(SMSTransport(gateway: aliyun, client: limited)).error?.retryAfter == .seconds(60))
    }

    @Test("429 is transient whatever the gateway says, and a permanent failure ignores Retry-After")
    func tooManyRequests() async {
        let permanent = FixedGateway(result: .failure(DeliveryError(kind: .permanent, code: "x", message: "no")))
        let throttled = ScriptedHTTPClient([.success(SMSFixtures.response(429, "", headers: [HTTPHeader("Retry-After", "7")]))])
        let error = await Self.deliver(SMSTransport(gateway: permanent, client: throttled)).error
        #expect(error?.kind == .transient)
        #expect(error?.retryAfter == .seconds(7))
        let rejected = ScriptedHTTPClient([.success(SMSFixtures.response(400, "", headers: [HTTPHeader("Retry-After", "7")]))])
        let permanentError = await Self.deliver(SMSTransport(gateway: permanent, client: rejected)).error
        #expect(permanentError?.kind == .permanent)
        #expect(permanentError?.retryAfter == nil)
    }

    @Test("error messages never carry the credentials, the number, the text, the code or the link")
    func scrubbing() async throws {
        let gateway = try GenericHTTPGateway(
            url: "https://sms.example/send", headers: [HTTPHeader("Authorization", "Bearer tok-SECRET-1")], username: "u", password: "basicpw")
        let echo = "rejected +8613800138000 (8613800138000) Bearer tok-SECRET-1 basicpw text=\(SMSFixtures.codeText) code 012345 \u{7}"
        let client = ScriptedHTTPClient([.success(SMSFixtures.response(400, echo))])
        let error = try #require(await Self.deliver(SMSTransport(gateway: gateway, client: client)).error)
        for secret in ["8613800138000", "tok-SECRET-1", "basicpw", "012345", "Your verification code", "\u{7}"] {
            #expect(!error.message.contains(secret), "\(secret) in \(error.message)")
        }
        #expect(error.message.hasPrefix("the gateway answered HTTP 400: rejected [redacted]"))
        let link = ScriptedHTTPClient([.success(SMSFixtures.response(400, "bad link https://cv.example/verify/AbC-_123xyz"))])
        let linkError = try #require(await Self.deliver(SMSTransport(gateway: gateway, client: link), SMSFixtures.message(SMSFixtures.linkText)).error)
        #expect(!linkError.message.contains("AbC-_123xyz"))
        // Echoed percent-encoded, as a query string: the encoded text goes as well.
        let encodedText = FormEncoding.percentEncode(SMSFixtures.codeText)
        let query = ScriptedHTTPClient([.success(SMSFixtures.response(400, "bad request text=\(encodedText)&x=1"))])
        let queryError = try #require(await Self.deliver(SMSTransport(gateway: gateway, client: query)).error)
        #expect(!queryError.message.contains("verification%20code"), "\(queryError.message)")
        #expect(queryError.message.hasSuffix("text=[redacted]&x=1"))
    }

    @Test("a scrubbed text is cleaned of control characters, trimmed and shortened; a plain line stays as it is")
    func scrubCleans() {
        #expect(SMSTransport.scrub("0: Accepted for delivery", removing: ["+15550001111", "pw123"]) == "0: Accepted for delivery")
        #expect(SMSTransport.scrub("  padded\tline\u{7} ", removing: []) == "padded line")
        #expect(SMSTransport.scrub("caf\u{E9} \u{2028}ok", removing: ["caf\u{E9}"]) == "[redacted]  ok")
        let long = String(repeating: "x", count: 300)
        #expect(SMSTransport.scrub(long, removing: []) == String(repeating: "x", count: 239) + "…")
        #expect(SMSTransport.scrub(String(repeating: "y", count: 240), removing: []).count == 240)
        #expect(SMSTransport.holds(Array("abcabd".utf8), Array("abd".utf8)))
        #expect(!SMSTransport.holds(Array("ab".utf8), Array("abc".utf8)))
        #expect(!SMSTransport.holds(Array("abcab".utf8), Array("abd".utf8)))
    }

    @Test("provider codes are reduced to safe characters")
    func safeCodes() {
        #expect(SMSTransport.safeCode("aliyun_isv.MOBILE_NUMBER_ILLEGAL") == "aliyun_isv.MOBILE_NUMBER_ILLEGAL")
        #expect(SMSTransport.safeCode("aliyun_<script>\n") == "aliyun__script__")
        #expect(SMSTransport.safeCode("") == "unknown")
    }

    @Test("an email message or an empty text is refused permanently without a request")
    func refused() async {
        let client = ScriptedHTTPClient([])
        let transport = SMSTransport(gateway: FixedGateway(result: .success(DeliveryReceipt())), client: client)
        let email = OutboundMessage(id: "msg_1", channel: .email, to: "a@example.com")
        #expect(await Self.deliver(transport, email).error?.code == "invalid_channel")
        #expect(await Self.deliver(transport, SMSFixtures.message("")).error?.code == "missing_content")
        #expect(client.requests.isEmpty)
    }
}

// MARK: - Configuration

@Suite("SMS gateway configuration")
struct SMSGatewayConfigurationTests {
    static func error(_ configuration: SMSGatewayConfiguration) -> SMSGatewayConfigurationError? {
        do {
            _ = try configuration.makeGateway()
            return nil
        } catch {
            return error
        }
    }

    @Test("file makes no gateway, and refuses SMS settings that would be ignored")
    func file() throws {
        #expect(try SMSGatewayConfiguration().makeGateway() == nil)
        let error = Self.error(SMSGatewayConfiguration(provider: .file, url: "http://k/"))
        #expect(error?.description == "--sms-url is not used with --sms-provider file (only with kannel, twilio, vonage, aliyun, http)")
    }

    @Test("each provider makes its adapter from the generic and extra settings")
    func adapters() throws {
        let kannel = try #require(try SMSGatewayConfiguration(provider: .kannel, url: "http://k:13013/cgi-bin/sendsms", username: "u", password: "p").makeGateway() as? KannelGateway)
        #expect(kannel.dlrMask == 19)
        #expect(kannel.from == nil)

        let twilio = try #require(try SMSGatewayConfiguration(provider: .twilio, username: "ACabc", password: "t", from: "+15005550006").makeGateway() as? TwilioGateway)
        #expect(twilio.accountSID == "ACabc")
        #expect(twilio.baseURL == "https://api.twilio.com")
        #expect(twilio.sender == .from("+15005550006"))

        var keyed = SMSGatewayConfiguration(provider: .twilio, username: "SKkey", password: "t")
        keyed.twilioAccountSID = "ACabc"
        keyed.twilioMessagingServiceSID = "MG1"
        let keyedGateway = try #require(try keyed.makeGateway() as? TwilioGateway)
        #expect(keyedGateway.username == "SKkey")
        #expect(keyedGateway.sender == .messagingService("MG1"))

        let vonage = try #require(try SMSGatewayConfiguration(provider: .vonage, username: "k", password: "s", from: "Acme").makeGateway() as? VonageGateway)
        #expect(vonage.smsURL == "https://rest.nexmo.com/sms/json")

        var aliyunSettings = SMSGatewayConfiguration(provider: .aliyun, username: "id", password: "secret")
        aliyunSettings.aliyunSignName = "Acme"
        aliyunSettings.aliyunTemplateCode = "SMS_1"
        let aliyun = try #require(try aliyunSettings.makeGateway() as? AliyunGateway)
        #expect(aliyun.endpoint == "https://dysmsapi.aliyuncs.com/")
        #expect(aliyun.regionID == "cn-hangzhou")
        #expect(aliyun.linkTemplateCode == nil)

        var http = SMSGatewayConfiguration(provider: .http, url: "https://sms.example/send?to={{toDigits}}")
        http.httpHeaders = ["Content-Type: application/json", "X-Key:  abc "]
        http.httpBody = #"{"text":"{{text}}"}"#
        http.httpSuccessStatuses = [200]
        let generic = try #require(try http.makeGateway() as? GenericHTTPGateway)
        #expect(generic.headers == [HTTPHeader("Content-Type", "application/json"), HTTPHeader("X-Key", "abc")])
        #expect(generic.successStatuses == [200])
        #expect(generic.method == "POST")
    }

    @Test("missing and wrong settings are named clearly, without their values")
    func validation() {
        #expect(
            Self.error(SMSGatewayConfiguration(provider: .kannel, username: "u", password: "p"))?.description
                == "--sms-url is required with --sms-provider kannel: the Kannel sendsms URL, e.g. http://kannel:13013/cgi-bin/sendsms")
        #expect(
            Self.error(SMSGatewayConfiguration(provider: .kannel, url: "http://k/", username: "u"))?.description
                == "--sms-password is required with --sms-provider kannel: the Kannel sendsms-user password")
        #expect(
            Self.error(SMSGatewayConfiguration(provider: .twilio, username: "SKkey", password: "t", from: "+1"))?.setting
                == "--sms-twilio-account-sid")
        var both = SMSGatewayConfiguration(provider: .twilio, username: "ACx", password: "t", from: "+1")
        both.twilioMessagingServiceSID = "MG1"
        #expect(Self.error(both)?.reason.contains("cannot both be set") == true)
        #expect(Self.error(SMSGatewayConfiguration(provider: .twilio, username: "ACx", password: "t"))?.setting == "--sms-from")
        #expect(Self.error(SMSGatewayConfiguration(provider: .vonage, username: "k", password: "s"))?.setting == "--sms-from")
        #expect(Self.error(SMSGatewayConfiguration(provider: .aliyun, username: "k", password: "s"))?.setting == "--sms-aliyun-sign-name")
        #expect(Self.error(SMSGatewayConfiguration(provider: .http))?.setting == "--sms-url")

        let leaky = Self.error(SMSGatewayConfiguration(provider: .kannel, url: "http://user:hunter2@k/", username: "u", password: "p"))
        #expect(leaky?.description == "--sms-url must not contain credentials; use --sms-username and --sms-password")
        #expect(Self.error(SMSGatewayConfiguration(provider: .kannel, url: "ftp://k/", username: "u", password: "p"))?.setting == "--sms-url")
        #expect(Self.error(SMSGatewayConfiguration(provider: .vonage, username: "k", password: "", from: "A"))?.description == "--sms-password must not be empty")
        #expect(Self.error(SMSGatewayConfiguration(provider: .vonage, username: "k", password: "s", from: "A", timeout: .zero))?.setting == "--sms-timeout")

        var twilioExtra = SMSGatewayConfiguration(provider: .kannel, url: "http://k/", username: "u", password: "p")
        twilioExtra.twilioAccountSID = "ACx"
        #expect(Self.error(twilioExtra)?.description == "--sms-twilio-account-sid is not used with --sms-provider kannel (only with twilio)")

        var header = SMSGatewayConfiguration(provider: .http, url: "https://x/")
        header.httpHeaders = ["No colon"]
        #expect(Self.error(header)?.setting == "--sms-http-header")
        header.httpHeaders = ["Bad Name: v"]
        #expect(Self.error(header)?.reason == "has an invalid header name")
        header.httpHeaders = []
        header.httpSuccessStatuses = [42]
        #expect(Self.error(header)?.setting == "--sms-http-success-status")
        header.httpSuccessStatuses = []
        header.httpBody = "{{#open}}"
        #expect(Self.error(header)?.setting == "--sms-http-body")
        var mask = SMSGatewayConfiguration(provider: .kannel, url: "http://k/", username: "u", password: "p")
        mask.kannelDLRMask = 0
        #expect(Self.error(mask)?.setting == "--sms-kannel-dlr-mask")
    }
}

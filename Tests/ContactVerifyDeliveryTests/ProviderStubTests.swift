import ContactVerifyCore
import Foundation
import TestServers
import Testing

@testable import ContactVerifyDelivery

/// Sends through `SMSTransport` and the real `CurlHTTPClient` to the provider stub, checking
/// both what the adapters send (as the stub saw it) and what they make of each answer.
@Suite("SMS adapters against the provider stub")
struct ProviderStubTests {
    static func deliver(_ transport: SMSTransport, _ message: OutboundMessage) async -> Result<DeliveryReceipt, DeliveryError> {
        await SMSTransportTests.deliver(transport, message)
    }

    static func withStub(_ body: (ProviderStub, CurlHTTPClient) async throws -> Void) async throws {
        let stub = try await ProviderStub.start()
        defer { stub.stop() }
        try await body(stub, CurlHTTPClient())
    }

    /// The stub saw exactly `count` requests, none breaking the protocol.
    static func expectClean(_ stub: ProviderStub, count: Int, sourceLocation: SourceLocation = #_sourceLocation) throws -> [ProviderStub.Record] {
        let records = try stub.requests()
        #expect(records.count == count, "requests seen by the stub", sourceLocation: sourceLocation)
        for record in records {
            #expect(record.problems.isEmpty, "\(record.problems)", sourceLocation: sourceLocation)
        }
        return records
    }

    // MARK: Twilio

    static func twilio(_ stub: ProviderStub, password: String = ProviderStub.twilioToken, timeout: Duration = .seconds(10)) -> TwilioGateway {
        TwilioGateway(
            baseURL: stub.baseURL, accountSID: ProviderStub.twilioSID, username: ProviderStub.twilioSID, password: password,
            sender: .from("+15005550006"), timeout: timeout)
    }

    @Test("Twilio: a message is one exact form POST, and the sid comes back as the provider id")
    func twilioSuccess() async throws {
        try await Self.withStub { stub, client in
            let transport = SMSTransport(gateway: Self.twilio(stub), client: client)
            let message = SMSFixtures.message(SMSFixtures.chineseCodeText, to: "+15005550100", report: SMSFixtures.report)
            let receipt = try await Self.deliver(transport, message).get()
            let records = try Self.expectClean(stub, count: 1)
            let record = try #require(records.first)
            #expect(record.provider == "twilio")
            #expect(record.method == "POST")
            #expect(record.path == "/2010-04-01/Accounts/\(ProviderStub.twilioSID)/Messages.json")
            #expect(record.headers["content-type"] == "application/x-www-form-urlencoded")
            #expect(record.headers["accept"] == "application/json")
            let credentials = Data("\(ProviderStub.twilioSID):\(ProviderStub.twilioToken)".utf8).base64EncodedString()
            #expect(record.headers["authorization"] == "Basic \(credentials)")
            #expect(record.fieldNames == ["To", "From", "Body", "StatusCallback"])
            #expect(record.field("To") == "+15005550100")
            #expect(record.field("From") == "+15005550006")
            #expect(record.field("Body") == SMSFixtures.chineseCodeText)
            #expect(record.field("StatusCallback") == SMSFixtures.report)
            let answer = try #require(try JSONSerialization.jsonObject(with: Data(record.answer.utf8)) as? [String: Any])
            #expect(receipt.providerMessageID == answer["sid"] as? String)
            #expect(receipt.providerMessageID?.hasPrefix("SM") == true)
        }
    }

    @Test("Twilio: each documented error maps to its kind and code, with one request each")
    func twilioErrors() async throws {
        try await Self.withStub { stub, client in
            let transport = SMSTransport(gateway: Self.twilio(stub), client: client)
            let cases: [(String, DeliveryError.Kind, String)] = [
                ("+15005550001", .permanent, "twilio_21211"), ("+15005550002", .permanent, "twilio_21612"),
                ("+15005550003", .permanent, "twilio_21408"), ("+15005550004", .permanent, "twilio_21610"),
                ("+15005550009", .permanent, "twilio_21614"), ("+15005550635", .permanent, "twilio_21635"),
                ("+15005550429", .transient, "twilio_20429"), ("+15005550500", .ambiguous, "twilio_20500"),
            ]
            for (number, kind, code) in cases {
                let error = try #require(await Self.deliver(transport, SMSFixtures.message(to: number)).error)
                #expect(error.kind == kind, "\(number)")
                #expect(error.code == code)
                #expect(!error.message.contains(String(number.dropFirst())), "\(error.message)")
                if code == "twilio_20429" { #expect(error.retryAfter == .seconds(3)) }
            }
            let wrongPassword = SMSTransport(gateway: Self.twilio(stub, password: "wrong-token"), client: client)
            let auth = try #require(await Self.deliver(wrongPassword, SMSFixtures.message(to: "+15005550100")).error)
            #expect(auth.kind == .permanent)
            #expect(auth.code == "twilio_20003")
            #expect(!auth.message.contains("wrong-token"))
            _ = try Self.expectClean(stub, count: cases.count + 1)
        }
    }

    @Test("Twilio with --hold-file: requests are logged as held while the file exists and get no answer until it is removed; then the held 201 arrives and later requests are answered at once")
    func twilioHeld() async throws {
        let hold = FileManager.default.temporaryDirectory.appendingPathComponent("cv-hold-\(UUID().uuidString)").path
        #expect(FileManager.default.createFile(atPath: hold, contents: nil))
        defer { try? FileManager.default.removeItem(atPath: hold) }
        let stub = try await ProviderStub.start(arguments: ["--hold-file", hold])
        defer { stub.stop() }
        let client = CurlHTTPClient()
        let patient = SMSTransport(gateway: Self.twilio(stub, timeout: .seconds(30)), client: client)
        let waiting = Task { await Self.deliver(patient, SMSFixtures.message(to: "+15005550100", id: "msg_held")) }
        // The request is in the log while its answer waits.
        let first = try await stub.waitForRequests("the held request") { $0.count == 1 }
        #expect(first.map(\.held) == [true])
        #expect(first.map(\.status) == [201])

        // A second one, with a 1 s timeout, hears nothing: the provider has it, the sender does not know.
        let impatient = SMSTransport(gateway: Self.twilio(stub, timeout: .seconds(1)), client: client)
        let unanswered = try #require(await Self.deliver(impatient, SMSFixtures.message(to: "+15005550101", id: "msg_timeout")).error)
        #expect(unanswered.kind == .ambiguous)
        #expect(unanswered.code == "http_ambiguous")

        // Released: the first sender gets the very 201 the log recorded.
        try FileManager.default.removeItem(atPath: hold)
        let receipt = try await waiting.value.get()
        let answer = try #require(try JSONSerialization.jsonObject(with: Data(first[0].answer.utf8)) as? [String: Any])
        #expect(receipt.providerMessageID == answer["sid"] as? String)

        // Without the file, answers go at once (the timed-out sender's held thread did not hurt the stub).
        _ = try await Self.deliver(impatient, SMSFixtures.message(to: "+15005550102", id: "msg_after")).get()
        let records = try Self.expectClean(stub, count: 3)
        #expect(records.map(\.held) == [true, true, false])
        #expect(records.map { $0.field("To") } == ["+15005550100", "+15005550101", "+15005550102"])
    }

    // MARK: Vonage

    static func vonage(_ stub: ProviderStub, secret: String = ProviderStub.vonageSecret) -> VonageGateway {
        VonageGateway(baseURL: stub.baseURL, apiKey: ProviderStub.vonageKey, apiSecret: secret, from: "Acme")
    }

    @Test("Vonage: a message is one exact form POST, and the first message-id comes back")
    func vonageSuccess() async throws {
        try await Self.withStub { stub, client in
            let transport = SMSTransport(gateway: Self.vonage(stub), client: client)
            let unicode = try await Self.deliver(
                transport, SMSFixtures.message(SMSFixtures.chineseCodeText, to: "+447700900123", report: SMSFixtures.report, id: "msg_v1")
            ).get()
            let plain = try await Self.deliver(transport, SMSFixtures.message(to: "+447009910000", id: "msg_v2")).get()
            let records = try Self.expectClean(stub, count: 2)
            let first = records[0]
            #expect(first.method == "POST")
            #expect(first.path == "/sms/json")
            #expect(first.headers["content-type"] == "application/x-www-form-urlencoded")
            #expect(first.headers["authorization"] == nil)
            #expect(first.fieldNames == ["api_key", "api_secret", "from", "to", "text", "type", "callback", "client-ref"])
            #expect(first.field("to") == "447700900123")
            #expect(first.field("text") == SMSFixtures.chineseCodeText)
            #expect(first.field("type") == "unicode")
            #expect(first.field("callback") == SMSFixtures.report)
            #expect(first.field("client-ref") == "msg_v1")
            #expect(records[1].fieldNames == ["api_key", "api_secret", "from", "to", "text", "client-ref"])
            let answers = try records.map { try #require(try JSONSerialization.jsonObject(with: Data($0.answer.utf8)) as? [String: Any]) }
            let ids = answers.map { (($0["messages"] as? [[String: Any]])?.first?["message-id"] as? String) }
            #expect(unicode.providerMessageID == ids[0])
            #expect(plain.providerMessageID == ids[1])
            #expect(plain.detail == "accepted by Vonage in 2 parts")
        }
    }

    @Test("Vonage: statuses in HTTP 200 answers map to transient, permanent and ambiguous")
    func vonageErrors() async throws {
        try await Self.withStub { stub, client in
            let transport = SMSTransport(gateway: Self.vonage(stub), client: client)
            let cases: [(String, DeliveryError.Kind, String)] = [
                ("+447009900001", .transient, "vonage_1"), ("+447009900005", .transient, "vonage_5"),
                ("+447009900010", .transient, "vonage_10"), ("+447009900006", .permanent, "vonage_6"),
                ("+447009900007", .permanent, "vonage_7"), ("+447009900015", .permanent, "vonage_15"),
                ("+447009910001", .ambiguous, "vonage_1"),
            ]
            for (number, kind, code) in cases {
                let error = try #require(await Self.deliver(transport, SMSFixtures.message(to: number)).error)
                #expect(error.kind == kind, "\(number)")
                #expect(error.code == code)
            }
            let badSecret = SMSTransport(gateway: Self.vonage(stub, secret: "nope-secret"), client: client)
            let auth = try #require(await Self.deliver(badSecret, SMSFixtures.message(to: "+447700900123")).error)
            #expect(auth == DeliveryError(kind: .permanent, code: "vonage_4", message: "Vonage status 4: Bad Credentials"))
            _ = try Self.expectClean(stub, count: cases.count + 1)
        }
    }

    // MARK: Alibaba Cloud

    static func aliyun(_ stub: ProviderStub, secret: String = ProviderStub.aliyunSecret, link: Bool = true) -> AliyunGateway {
        AliyunGateway(
            endpoint: stub.baseURL + "/", accessKeyID: ProviderStub.aliyunKeyID, accessKeySecret: secret,
            signName: ProviderStub.aliyunSignName, templateCode: ProviderStub.aliyunTemplate,
            linkTemplateCode: link ? ProviderStub.aliyunLinkTemplate : nil)
    }

    @Test("Alibaba Cloud: code and link messages are signed POSTs the stub verifies, BizId comes back")
    func aliyunSuccess() async throws {
        try await Self.withStub { stub, client in
            let transport = SMSTransport(gateway: Self.aliyun(stub), client: client)
            let code = try await Self.deliver(transport, SMSFixtures.message(SMSFixtures.chineseCodeText, id: "msg_a1")).get()
            let again = try await Self.deliver(transport, SMSFixtures.message(SMSFixtures.chineseCodeText, id: "msg_a1")).get()
            let link = try await Self.deliver(transport, SMSFixtures.message(SMSFixtures.linkText, to: "+85291234567", id: "msg_a2")).get()
            let records = try Self.expectClean(stub, count: 3)
            #expect(records.allSatisfy { $0.status == 200 && $0.method == "POST" && $0.path == "/" && $0.query.isEmpty })
            #expect(records[0].headers["content-type"] == "application/x-www-form-urlencoded")
            #expect(
                records[0].fieldNames == [
                    "AccessKeyId", "Action", "Format", "OutId", "PhoneNumbers", "RegionId", "SignName", "SignatureMethod", "SignatureNonce",
                    "SignatureVersion", "TemplateCode", "TemplateParam", "Timestamp", "Version", "Signature",
                ])
            #expect(records[0].field("PhoneNumbers") == "13800138000")
            #expect(records[0].field("OutId") == "msg_a1")
            #expect(records[0].field("TemplateCode") == ProviderStub.aliyunTemplate)
            #expect(records[0].field("TemplateParam") == #"{"code":"012345"}"#)
            #expect(records[0].field("SignatureNonce") != records[1].field("SignatureNonce"))
            #expect(records[2].field("PhoneNumbers") == "85291234567")
            #expect(records[2].field("TemplateCode") == ProviderStub.aliyunLinkTemplate)
            #expect(records[2].field("TemplateParam") == #"{"link":"https://cv.example/verify/AbC-_123xyz"}"#)
            for (receipt, record) in zip([code, again, link], records) {
                let answer = try #require(try JSONSerialization.jsonObject(with: Data(record.answer.utf8)) as? [String: Any])
                #expect(receipt.providerMessageID == answer["BizId"] as? String)
            }
        }
    }

    @Test("Alibaba Cloud: each documented error code maps to its kind, limits wait at least a minute")
    func aliyunErrors() async throws {
        try await Self.withStub { stub, client in
            let transport = SMSTransport(gateway: Self.aliyun(stub), client: client)
            let cases: [(String, DeliveryError.Kind, String)] = [
                ("+8613800000001", .permanent, "aliyun_isv.MOBILE_NUMBER_ILLEGAL"),
                ("+8613800000002", .transient, "aliyun_isv.BUSINESS_LIMIT_CONTROL"),
                ("+8613800000003", .transient, "aliyun_isp.SYSTEM_ERROR"),
                ("+8613800000004", .transient, "aliyun_isv.DAY_LIMIT_CONTROL"),
                ("+8613800000005", .permanent, "aliyun_isv.BLACK_KEY_CONTROL_LIMIT"),
                ("+8613800000500", .ambiguous, "aliyun_http_500"),
            ]
            for (number, kind, code) in cases {
                let error = try #require(await Self.deliver(transport, SMSFixtures.message(to: number)).error)
                #expect(error.kind == kind, "\(number)")
                #expect(error.code == code)
                if code.hasSuffix("LIMIT_CONTROL") { #expect(error.retryAfter == .seconds(60)) }
            }
            _ = try Self.expectClean(stub, count: cases.count)
        }
    }

    @Test("Alibaba Cloud: a wrong secret is SignatureDoesNotMatch, scrubbed of the number and code; links without a template send nothing")
    func aliyunRejections() async throws {
        try await Self.withStub { stub, client in
            let wrong = SMSTransport(gateway: Self.aliyun(stub, secret: "not-the-secret"), client: client)
            let error = try #require(await Self.deliver(wrong, SMSFixtures.message()).error)
            #expect(error.kind == .permanent)
            #expect(error.code == "aliyun_SignatureDoesNotMatch")
            for secret in ["13800138000", "012345", "not-the-secret"] {
                #expect(!error.message.contains(secret), "\(error.message)")
            }
            let records = try stub.requests()
            #expect(records.count == 1)
            #expect(records.first?.problems == ["signature does not match"])

            let noLink = SMSTransport(gateway: Self.aliyun(stub, link: false), client: client)
            let linkError = try #require(await Self.deliver(noLink, SMSFixtures.message(SMSFixtures.linkText)).error)
            #expect(linkError.code == "aliyun_link_unsupported")
            #expect(linkError.kind == .permanent)
            #expect(try stub.requests().count == 1)
        }
    }

    // MARK: Kannel

    static func kannel(_ stub: ProviderStub, password: String = ProviderStub.kannelPassword) -> KannelGateway {
        KannelGateway(sendsmsURL: stub.baseURL + "/cgi-bin/sendsms", username: ProviderStub.kannelUser, password: password, from: "Acme")
    }

    @Test("Kannel: a sendsms GET with dlr-url, and each reply's mapping")
    func kannel() async throws {
        try await Self.withStub { stub, client in
            let transport = SMSTransport(gateway: Self.kannel(stub), client: client)
            let receipt = try await Self.deliver(transport, SMSFixtures.message(SMSFixtures.chineseCodeText, report: SMSFixtures.report)).get()
            #expect(receipt == DeliveryReceipt(providerMessageID: nil, detail: "0: Accepted for delivery"))
            let queued = try await Self.deliver(transport, SMSFixtures.message(to: "+8613800000003")).get()
            #expect(queued.detail == "3: Queued for later delivery")
            let cases: [(String, DeliveryError.Kind, String)] = [
                ("+8613800000503", .transient, "kannel_503"), ("+8613800000500", .ambiguous, "kannel_500"),
                ("+8613800000403", .permanent, "kannel_403"),
            ]
            for (number, kind, code) in cases {
                let error = try #require(await Self.deliver(transport, SMSFixtures.message(to: number)).error)
                #expect(error.kind == kind)
                #expect(error.code == code)
            }
            let badPassword = SMSTransport(gateway: Self.kannel(stub, password: "bad-pass"), client: client)
            let auth = try #require(await Self.deliver(badPassword, SMSFixtures.message()).error)
            #expect(auth == DeliveryError(kind: .permanent, code: "kannel_403", message: "Kannel answered HTTP 403: Authorization failed for sendsms"))
            let records = try Self.expectClean(stub, count: 2 + cases.count + 1)
            let first = records[0]
            #expect(first.method == "GET")
            #expect(first.body.isEmpty)
            #expect(first.fieldNames == ["username", "password", "from", "to", "text", "charset", "coding", "dlr-mask", "dlr-url"])
            #expect(first.field("text") == SMSFixtures.chineseCodeText)
            #expect(first.field("dlr-url") == SMSFixtures.report + "?status=%d")
            #expect(records[1].fieldNames == ["username", "password", "from", "to", "text", "charset"])
        }
    }

    // MARK: Transport failures

    @Test("a refused connection is transient http_not_sent, without the password in the message")
    func refusedConnection() async throws {
        // A port that was just free and is closed again.
        let stopped = try await ProviderStub.start()
        let port = stopped.port
        stopped.stop()
        let gateway = KannelGateway(sendsmsURL: "http://127.0.0.1:\(port)/cgi-bin/sendsms", username: "u", password: "pw-secret")
        let error = try #require(await Self.deliver(SMSTransport(gateway: gateway, client: CurlHTTPClient()), SMSFixtures.message()).error)
        #expect(error.kind == .transient)
        #expect(error.code == "http_not_sent")
        #expect(!error.message.contains("pw-secret"))
    }
}

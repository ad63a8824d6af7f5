import ContactVerifyCore
import Foundation
import TestServers
import Testing

@testable import ContactVerifyDelivery

/// Test messages through the real `CurlHTTPClient` to `chatbot_stub.py`, which checks each
/// robot's exact request and answers with its documented success and error shapes.
@Suite("Chatbot webhooks against the chatbot stub")
struct ChatbotStubTests {
    static let dingTalkSecret = "SECtestsecret", larkSecret = "testsecret", customSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    static let open = OutboundTargetPolicy(allowPrivateTargets: true)

    static func withStub(_ body: (ProviderStub, CurlHTTPClient) async throws -> Void) async throws {
        let stub = try await ProviderStub.start(script: "chatbot_stub.py")
        defer { stub.stop() }
        try await body(stub, CurlHTTPClient())
    }

    /// Sends one test message and reads the answer as the tester does.
    static func send(
        _ client: CurlHTTPClient, _ kind: WebhookKind, _ url: String, secret: String? = nil, timeout: Duration = .seconds(5),
        policy: OutboundTargetPolicy = open
    ) async -> (result: WebhookTestResult, error: HTTPClientError?) {
        let message = ChatbotTestMessage(
            kind: kind, url: url, secret: secret, text: "ContactVerify: test message for the webhook “Ops”.", messageID: "msg_test1",
            contactID: "ct_1", webhookID: "wh_1")
        do {
            return (WebhookTestResult.reading(try await client.send(message.request(now: Date(), timeout: timeout, policy: policy)), kind: kind), nil)
        } catch {
            return (WebhookTestResult.failure(error), error)
        }
    }

    static func expect(
        _ outcome: (result: WebhookTestResult, error: HTTPClientError?), verified: Bool, code: String?,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        #expect(outcome.result.verified == verified, "\(outcome.result)", sourceLocation: sourceLocation)
        #expect(outcome.result.providerCode == code, "\(outcome.result)", sourceLocation: sourceLocation)
    }

    @Test("DingTalk: a signed text message with a millisecond timestamp; errcode 0 verifies, each documented error fails with its code")
    func dingTalk() async throws {
        try await Self.withStub { stub, client in
            let base = "\(stub.baseURL)/robot/send?access_token="
            let before = Int64(Date().timeIntervalSince1970 * 1000)
            Self.expect(await Self.send(client, .dingtalk, base + "signed-ok", secret: Self.dingTalkSecret), verified: true, code: "0")
            Self.expect(await Self.send(client, .dingtalk, base + "plain-ok"), verified: true, code: "0")
            let fast = await Self.send(client, .dingtalk, base + "signed-fast", secret: Self.dingTalkSecret)
            Self.expect(fast, verified: false, code: "130101")
            #expect(fast.result.message == "send too fast, exceed 20 times per minute")
            Self.expect(await Self.send(client, .dingtalk, base + "signed-keyword", secret: Self.dingTalkSecret), verified: false, code: "310000")
            Self.expect(await Self.send(client, .dingtalk, base + "signed-gone", secret: Self.dingTalkSecret), verified: false, code: "300001")
            let wrong = await Self.send(client, .dingtalk, base + "signed-ok", secret: "SECwrong")
            Self.expect(wrong, verified: false, code: "310000")
            #expect(wrong.result.message.hasPrefix("sign not match"))
            let records = try stub.requests()
            #expect(records.count == 6)
            for record in records {
                #expect(record.problems.isEmpty, "\(record.problems)")
                #expect(record.headers["content-type"] == "application/json; charset=utf-8")
            }
            let signed = try #require(records.first)
            #expect(signed.fieldNames == ["access_token", "timestamp", "sign"])
            let timestamp = try #require(Int64(signed.field("timestamp") ?? ""))
            #expect(timestamp >= before && timestamp <= before + 10_000, "milliseconds")
            #expect(records[1].fieldNames == ["access_token"], "no signature without a secret")
        }
    }

    @Test("Lark: timestamp in seconds and sign in the body; code 0 (and the legacy StatusCode 0) verifies, errors fail with their code")
    func lark() async throws {
        try await Self.withStub { stub, client in
            let base = "\(stub.baseURL)/open-apis/bot/v2/hook/"
            Self.expect(await Self.send(client, .lark, base + "signed-ok", secret: Self.larkSecret), verified: true, code: "0")
            Self.expect(await Self.send(client, .lark, base + "plain-legacy"), verified: true, code: "0")
            Self.expect(await Self.send(client, .lark, base + "signed-fast", secret: Self.larkSecret), verified: false, code: "11232")
            Self.expect(await Self.send(client, .lark, base + "signed-keyword", secret: Self.larkSecret), verified: false, code: "19024")
            let wrong = await Self.send(client, .lark, base + "signed-ok", secret: "other")
            Self.expect(wrong, verified: false, code: "19021")
            let records = try stub.requests()
            #expect(records.count == 5)
            for record in records { #expect(record.problems.isEmpty, "\(record.problems)") }
            let body = try #require(try JSONSerialization.jsonObject(with: Data(records[0].body.utf8)) as? [String: Any])
            let timestamp = try #require(body["timestamp"] as? String)
            #expect(timestamp.count == 10, "seconds, as a string")
            #expect(body["sign"] as? String == ChatbotSignature.lark(secret: Self.larkSecret, timestampSeconds: Int64(timestamp) ?? 0))
        }
    }

    @Test("WeCom: the key stays in the URL and nothing is signed; errcode 0 verifies, 45009 and 93000 fail")
    func weCom() async throws {
        try await Self.withStub { stub, client in
            let base = "\(stub.baseURL)/cgi-bin/webhook/send?key="
            Self.expect(await Self.send(client, .wecom, base + "k-ok"), verified: true, code: "0")
            Self.expect(await Self.send(client, .wecom, base + "k-fast"), verified: false, code: "45009")
            let gone = await Self.send(client, .wecom, base + "k-gone")
            Self.expect(gone, verified: false, code: "93000")
            #expect(gone.result.message.hasPrefix("invalid webhook url"))
            let records = try stub.requests()
            #expect(records.count == 3)
            for record in records {
                #expect(record.problems.isEmpty, "\(record.problems)")
                #expect(record.fieldNames == ["key"])
            }
        }
    }

    @Test("custom: a Standard Webhooks signature the receiver verifies; 2xx verifies, a bad signature or 5xx fails")
    func custom() async throws {
        try await Self.withStub { stub, client in
            Self.expect(await Self.send(client, .custom, "\(stub.baseURL)/custom/signed", secret: Self.customSecret), verified: true, code: "204")
            Self.expect(await Self.send(client, .custom, "\(stub.baseURL)/custom/ok"), verified: true, code: "200")
            Self.expect(
                await Self.send(client, .custom, "\(stub.baseURL)/custom/signed", secret: "whsec_" + Data(repeating: 7, count: 24).base64EncodedString()),
                verified: false, code: "http_401")
            Self.expect(await Self.send(client, .custom, "\(stub.baseURL)/custom/fail"), verified: false, code: "http_500")
            let records = try stub.requests()
            #expect(records.count == 4)
            #expect(records[0].problems.isEmpty, "\(records[0].problems)")
            #expect(records[0].headers["webhook-id"] == "msg_test1")
            #expect(records[1].headers["webhook-signature"] == nil)
        }
    }

    @Test("a robot that never answers fails as a timeout after the 5-second limit")
    func timeout() async throws {
        try await Self.withStub { stub, client in
            let clock = ContinuousClock()
            let start = clock.now
            let outcome = await Self.send(client, .custom, "\(stub.baseURL)/hang")
            let elapsed = clock.now - start
            Self.expect(outcome, verified: false, code: "timeout")
            #expect(outcome.error?.timedOut == true)
            // The upper bound only proves the wait ends; a loaded CI machine stretches it well past 5 s.
            #expect(elapsed >= .milliseconds(4900) && elapsed < .seconds(60), "\(elapsed)")
            let paths = try stub.requests().map(\.path)
            #expect(paths == ["/hang"])
        }
    }

    @Test("a redirect is not followed: the test fails with the 3xx and the stub sees one request")
    func redirect() async throws {
        try await Self.withStub { stub, client in
            let outcome = await Self.send(client, .custom, "\(stub.baseURL)/redirect")
            Self.expect(outcome, verified: false, code: "http_302")
            let paths = try stub.requests().map(\.path)
            #expect(paths == ["/redirect"], "the Location was not followed")
        }
    }

    @Test("without the operator's option, loopback targets are refused before anything is sent, by address and by name")
    func blocked() async throws {
        try await Self.withStub { stub, client in
            let strict = OutboundTargetPolicy()
            for url in [
                "\(stub.baseURL)/custom/ok", "http://localhost:\(stub.port)/custom/ok", "http://[::ffff:127.0.0.1]:\(stub.port)/custom/ok",
                "http://2130706433:\(stub.port)/custom/ok",
            ] {
                let outcome = await Self.send(client, .custom, url, policy: strict)
                #expect(outcome.error?.kind == .blockedTarget, "\(url): \(String(describing: outcome.error))")
                Self.expect(outcome, verified: false, code: "target_not_allowed")
            }
            let refused = try stub.requests()
            #expect(refused.isEmpty)
            // The same name with the option: resolved, checked, pinned and reached.
            Self.expect(await Self.send(client, .custom, "http://localhost:\(stub.port)/custom/ok"), verified: true, code: "200")
            let reached = try stub.requests()
            #expect(reached.count == 1)
        }
    }
}

import ContactVerifyCore
import Foundation
import Testing

@testable import ContactVerifyDelivery

/// The robots' signatures against the test vectors of protocols.md c7, c8 and c10.
@Suite("Chatbot signatures")
struct ChatbotSignatureTests {
    @Test("DingTalk: HMAC-SHA256(secret, ms timestamp + newline + secret), base64, then percent-encoded for the query")
    func dingTalk() {
        let signature = ChatbotSignature.dingTalk(secret: "SECtestsecret", timestampMilliseconds: 1_700_000_000_000)
        #expect(signature == "7LVwF0dAF3/+MRRulbpE4y72Ogzykc6bS2nG4I99T4s=")
        #expect(ChatbotSignature.dingTalkQueryValue(signature) == "7LVwF0dAF3%2F%2BMRRulbpE4y72Ogzykc6bS2nG4I99T4s%3D")
    }

    @Test("Lark: HMAC-SHA256 keyed with seconds timestamp + newline + secret over an empty message, base64")
    func lark() {
        #expect(ChatbotSignature.lark(secret: "testsecret", timestampSeconds: 1_700_000_000) == "AOc8oJ7//5OlQlfWC3nRL0R+IkuzcD1FKcAyibRK9Q8=")
    }

    @Test("custom webhooks carry the Standard Webhooks signature of the specification's vector")
    func standardWebhooks() {
        let headers = StandardWebhookHeaders.make(
            id: "msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp: 1_614_265_330, body: Array(#"{"test": 2432232314}"#.utf8),
            secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
        #expect(headers.map(\.name) == ["webhook-id", "webhook-timestamp", "webhook-signature"])
        #expect(headers.last?.value == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
        #expect(StandardWebhookHeaders.make(id: "msg_1", timestamp: 1, body: [], secret: nil).count == 2)
    }

    @Test("the DingTalk request adds timestamp and sign to the query; the Lark request puts them in the body")
    func placement() throws {
        let now = Date(timeIntervalSince1970: 1_700_000_000.123)
        let policy = OutboundTargetPolicy()
        let ding = ChatbotTestMessage(
            kind: .dingtalk, url: "https://oapi.dingtalk.com/robot/send?access_token=t", secret: "SECtestsecret", text: "hi",
            messageID: "msg_1", contactID: "ct_1", webhookID: "wh_1"
        ).request(now: now, timeout: .seconds(5), policy: policy)
        let expectedSign = ChatbotSignature.dingTalkQueryValue(ChatbotSignature.dingTalk(secret: "SECtestsecret", timestampMilliseconds: 1_700_000_000_123))
        #expect(ding.url == "https://oapi.dingtalk.com/robot/send?access_token=t&timestamp=1700000000123&sign=\(expectedSign)")
        #expect(String(decoding: ding.body, as: UTF8.self) == #"{"msgtype":"text","text":{"content":"hi"}}"#)
        #expect(ding.timeout == .seconds(5))
        #expect(ding.targetPolicy == policy)
        let lark = ChatbotTestMessage(
            kind: .lark, url: "https://open.feishu.cn/open-apis/bot/v2/hook/u", secret: "testsecret", text: "hi",
            messageID: "msg_1", contactID: "ct_1", webhookID: "wh_1"
        ).request(now: Date(timeIntervalSince1970: 1_700_000_000.9), timeout: .seconds(5), policy: policy)
        #expect(lark.url == "https://open.feishu.cn/open-apis/bot/v2/hook/u")
        #expect(
            String(decoding: lark.body, as: UTF8.self)
                == #"{"timestamp":"1700000000","sign":"AOc8oJ7//5OlQlfWC3nRL0R+IkuzcD1FKcAyibRK9Q8=","msg_type":"text","content":{"text":"hi"}}"#)
    }
}

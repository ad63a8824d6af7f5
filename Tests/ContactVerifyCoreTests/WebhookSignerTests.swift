import Testing

@testable import ContactVerifyCore

@Suite("Standard Webhooks signatures")
struct WebhookSignerTests {
    @Test("the specification's test vector")
    func specVector() throws {
        let signer = try #require(WebhookSigner(secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"))
        let body = Array(#"{"test": 2432232314}"#.utf8)
        #expect(signer.signature(id: "msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp: 1_614_265_330, body: body)
            == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
        let supabase = try #require(WebhookSigner(secret: "v1,whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"))
        #expect(supabase.signature(id: "msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp: 1_614_265_330, body: body)
            == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
    }

    @Test("another body, id or time changes the signature")
    func sensitivity() throws {
        let signer = try #require(WebhookSigner(secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"))
        let base = signer.signature(id: "msg_1", timestamp: 1, body: Array("{}".utf8))
        #expect(signer.signature(id: "msg_2", timestamp: 1, body: Array("{}".utf8)) != base)
        #expect(signer.signature(id: "msg_1", timestamp: 2, body: Array("{}".utf8)) != base)
        #expect(signer.signature(id: "msg_1", timestamp: 1, body: Array("{ }".utf8)) != base)
    }

    @Test("secrets not in whsec_ form are refused", arguments: ["", "whsec_", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_!!!", "v2,whsec_MfKQ"])
    func malformed(secret: String) {
        #expect(WebhookSigner(secret: secret) == nil)
    }
}

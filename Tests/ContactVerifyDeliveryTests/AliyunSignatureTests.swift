import ContactVerifyCore
import Foundation
import Testing

@testable import ContactVerifyDelivery

@Suite("Alibaba Cloud signature V1")
struct AliyunSignatureTests {
    /// protocols.md c6, test vector 1 (the SMS documentation's example).
    static let smsVector: [(String, String)] = [
        ("AccessKeyId", "testId"), ("Action", "SendSms"), ("Format", "XML"), ("OutId", "123"), ("PhoneNumbers", "15300000001"),
        ("RegionId", "cn-hangzhou"), ("SignName", "阿里云短信测试专用"), ("SignatureMethod", "HMAC-SHA1"),
        ("SignatureNonce", "45e25e9b-0a6f-4070-8c85-2956eda1b466"), ("SignatureVersion", "1.0"), ("TemplateCode", "SMS_71390007"),
        ("TemplateParam", #"{"customer":"test"}"#), ("Timestamp", "2017-07-12T02:42:19Z"), ("Version", "2017-05-25"),
    ]

    /// protocols.md c6, test vector 2 (the RPC documentation's example), deliberately unsorted.
    static let rpcVector: [(String, String)] = [
        ("Version", "2014-05-26"), ("Timestamp", "2016-02-23T12:46:24Z"), ("SignatureVersion", "1.0"),
        ("SignatureNonce", "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf"), ("SignatureMethod", "HMAC-SHA1"), ("Format", "XML"),
        ("Action", "DescribeRegions"), ("AccessKeyId", "testid"),
    ]

    @Test("the SMS documentation's vector signs to zJDF+Lrzhj/ThnlvIToysFRq6t4=")
    func smsDocumentationVector() {
        #expect(AliyunSignature.signature(method: "GET", parameters: Self.smsVector, accessKeySecret: "testSecret") == "zJDF+Lrzhj/ThnlvIToysFRq6t4=")
    }

    @Test("the RPC documentation's vector signs to OLeaidS1JvxuMvnyHOwuJ+uX5qY=, whatever the parameter order")
    func rpcDocumentationVector() {
        #expect(
            AliyunSignature.stringToSign(method: "GET", parameters: Self.rpcVector)
                == "GET&%2F&AccessKeyId%3Dtestid%26Action%3DDescribeRegions%26Format%3DXML%26SignatureMethod%3DHMAC-SHA1"
                + "%26SignatureNonce%3D3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf%26SignatureVersion%3D1.0"
                + "%26Timestamp%3D2016-02-23T12%253A46%253A24Z%26Version%3D2014-05-26")
        #expect(AliyunSignature.signature(method: "GET", parameters: Self.rpcVector, accessKeySecret: "testsecret") == "OLeaidS1JvxuMvnyHOwuJ+uX5qY=")
    }

    @Test("the key's case matters: the lower-case variant of vector 1 does not match")
    func keyCaseMatters() {
        #expect(AliyunSignature.signature(method: "GET", parameters: Self.smsVector, accessKeySecret: "testsecret") != "zJDF+Lrzhj/ThnlvIToysFRq6t4=")
    }

    @Test("a Signature parameter is left out of the canonicalized query")
    func signatureIsExcluded() {
        let withSignature = Self.rpcVector + [("Signature", "anything")]
        #expect(AliyunSignature.signature(method: "GET", parameters: withSignature, accessKeySecret: "testsecret") == "OLeaidS1JvxuMvnyHOwuJ+uX5qY=")
    }

    @Test("percentEncode keeps only unreserved characters: space %20, * %2A, ~ kept, + %2B, UTF-8 bytes upper-case")
    func percentEncode() {
        #expect(AliyunSignature.percentEncode("a b*c~d+e/f=g&h") == "a%20b%2Ac~d%2Be%2Ff%3Dg%26h")
        #expect(AliyunSignature.percentEncode("-_.~AZaz09") == "-_.~AZaz09")
        #expect(AliyunSignature.percentEncode("阿") == "%E9%98%BF")
        #expect(AliyunSignature.percentEncode(#"{"code":"1"}"#) == "%7B%22code%22%3A%221%22%7D")
    }

    @Test("Timestamp is UTC with whole seconds and a Z")
    func timestamp() {
        #expect(AliyunSignature.timestamp(Date(timeIntervalSince1970: 1_499_827_339.75)) == "2017-07-12T02:42:19Z")
        #expect(AliyunSignature.timestamp(Date(timeIntervalSince1970: 0)) == "1970-01-01T00:00:00Z")
    }

    @Test("the SendSms request with a fixed nonce and time is the exact signed POST body")
    func gatewayRequestIsSignedExactly() throws {
        let gateway = AliyunGateway(
            accessKeyID: "testId", accessKeySecret: "testSecret", signName: "阿里云短信测试专用", templateCode: "SMS_71390007",
            nonce: { "45e25e9b-0a6f-4070-8c85-2956eda1b466" }, now: { Date(timeIntervalSince1970: 1_499_827_339) })
        let message = OutboundMessage(
            id: "msg_1", channel: .sms, to: "+8613800138000", smsText: "【Acme 2024】您的验证码为 012345，10 分钟内有效。请勿泄露给他人。")
        let request = try gateway.request(for: message)
        // Computed independently (Python hmac/hashlib) from the same parameters.
        #expect(
            String(decoding: request.body, as: UTF8.self)
                == "AccessKeyId=testId&Action=SendSms&Format=JSON&OutId=msg_1&PhoneNumbers=13800138000&RegionId=cn-hangzhou"
                + "&SignName=%E9%98%BF%E9%87%8C%E4%BA%91%E7%9F%AD%E4%BF%A1%E6%B5%8B%E8%AF%95%E4%B8%93%E7%94%A8"
                + "&SignatureMethod=HMAC-SHA1&SignatureNonce=45e25e9b-0a6f-4070-8c85-2956eda1b466&SignatureVersion=1.0"
                + "&TemplateCode=SMS_71390007&TemplateParam=%7B%22code%22%3A%22012345%22%7D&Timestamp=2017-07-12T02%3A42%3A19Z"
                + "&Version=2017-05-25&Signature=3SDr5koCjGp5ZlgO8CWbbM%2F4HjQ%3D")
    }
}

import ContactVerifyCore
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

@Suite("Delivery reports")
struct DeliveryReportsTests {
    static let secretHex = String(repeating: "5a", count: 32)

    /// Starts an SMS verification for a new contact, delivers it, and returns (verification id,
    /// the report reference the gateway would have been given).
    static func sendSMS(_ app: TestApp, _ client: Client, phone: String) async throws -> (String, String) {
        let contact = try await client.makeContact("acme", #"{"name":"P","phone":"\#(phone)"}"#)
        let started = try await client.startVerification("acme", contact: contact, #"{"channel":"sms"}"#)
        let id = try #require(started.string("id"))
        try await app.deliver()
        let line = try #require(try String(contentsOfFile: app.outboxDirectory + "/sms.jsonl", encoding: .utf8)
            .split(separator: "\n").last { $0.contains(phone) })
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        let messageID = try #require(object["id"] as? String)
        let reference = DeliveryReportReference(secret: try #require(ServerSecret(hex: secretHex))).make(messageID: messageID)
        // The URL the gateway is given (the file transport records it) carries that reference.
        #expect(object["reportUrl"] as? String == "http://127.0.0.1:8080/v1/delivery-reports/\(reference)")
        return (id, reference)
    }

    static func delivery(_ client: Client, _ id: String) async throws -> [String: JSONValue] {
        guard case .object(let delivery)? = try await client.call(.get, "/v1/accounts/acme/verifications/\(id)")["delivery"] else { return [:] }
        return Dictionary(uniqueKeysWithValues: delivery.map { ($0.key, $0.value) })
    }

    @Test("Kannel's dlr-url and Twilio's status callback mark messages delivered or undelivered")
    func reports() async throws {
        let app = try await TestApp.make { $0.secretKeyHex = Self.secretHex }
        defer { app.remove() }
        try await app.test { client in
            _ = try await client.makeAccount("acme", region: "CN")
            let (first, firstRef) = try await Self.sendSMS(app, client, phone: "+8613800138000")
            #expect(try await Self.delivery(client, first)["status"] == .string("sent"))

            let intermediate = try await client.call(.get, "/v1/delivery-reports/\(firstRef)?status=8", key: "")
            #expect(intermediate.status == .ok)
            #expect(try await Self.delivery(client, first)["status"] == .string("sent"))
            let delivered = try await client.call(.get, "/v1/delivery-reports/\(firstRef)?status=1", key: "")
            #expect(delivered.status == .ok)
            #expect(try await Self.delivery(client, first)["status"] == .string("delivered"))
            // Delivered is final.
            _ = try await client.call(.get, "/v1/delivery-reports/\(firstRef)?status=2", key: "")
            #expect(try await Self.delivery(client, first)["status"] == .string("delivered"))

            let (vonage, vonageRef) = try await Self.sendSMS(app, client, phone: "+8613700137000")
            #expect(try await client.call(.get, "/v1/delivery-reports/\(vonageRef)?status=delivered&messageId=0A1", key: "").status == .ok)
            #expect(try await Self.delivery(client, vonage)["status"] == .string("delivered"))

            let (second, secondRef) = try await Self.sendSMS(app, client, phone: "+8613900139000")
            let twilio = try await client.call(
                .post, "/v1/delivery-reports/\(secondRef)", key: "", body: "MessageSid=SM1&MessageStatus=undelivered&ErrorCode=30003",
                contentType: "application/x-www-form-urlencoded")
            #expect(twilio.status == .ok)
            let state = try await Self.delivery(client, second)
            #expect(state["status"] == .string("undelivered"))
            guard case .object(let error)? = state["lastError"] else { Issue.record("no lastError"); return }
            #expect(error["code"] == .string("twilio_30003"))
        }
    }

    @Test("a reference this service did not issue is 404 and changes nothing")
    func forgedReference() async throws {
        let app = try await TestApp.make { $0.secretKeyHex = Self.secretHex }
        defer { app.remove() }
        try await app.test { client in
            _ = try await client.makeAccount("acme", region: "CN")
            let (id, reference) = try await Self.sendSMS(app, client, phone: "+8613800138000")
            let messageID = String(reference.prefix { $0 != "." })
            for forged in [messageID, messageID + ".AAAAAAAAAAAAAAAAAAAAAA", reference + "A", "x"] {
                let reply = try await client.call(.get, "/v1/delivery-reports/\(forged)?status=1", key: "")
                #expect(reply.status == .notFound, "\(forged)")
            }
            let other = DeliveryReportReference(secret: .random()).make(messageID: messageID)
            #expect(try await client.call(.get, "/v1/delivery-reports/\(other)?status=1", key: "").status == .notFound)
            #expect(try await Self.delivery(client, id)["status"] == .string("sent"))
        }
    }
}

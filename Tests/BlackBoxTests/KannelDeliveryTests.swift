import Foundation
import TestServers
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

@Suite("SMS through a real Kannel", .serialized)
struct KannelDeliveryTests {
    /// GETs a URL; returns status and body.
    static func get(_ url: String) async throws -> (Int, String) {
        let (data, response) = try await URLSession.shared.data(from: URL(string: url)!)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
    }

    @Test("the harness: Kannel accepts a sendsms request and the fake SMSC receives it")
    func harness() async throws {
        let kannel = try KannelServer()
        defer { kannel.stop() }
        try await kannel.start()
        let (status, body) = try await Self.get(
            kannel.sendsmsURL + "?username=\(KannelServer.username)&password=\(KannelServer.password)&to=%2B8613800138000&text=hello+there")
        #expect(status == 202)
        #expect(body.contains("Accepted for delivery"))
        try await waitFor(kannel.received().contains { $0.to == "+8613800138000" && $0.text.contains("hello") }, "the fake SMSC to receive")
    }
}

@Suite("The binary sending SMS through a real Kannel", .serialized)
struct KannelEndToEndTests {
    /// The binary, configured for Kannel, on a fixed free port (its public URL carries the
    /// delivery-report address Kannel calls back).
    static func start(_ kannel: KannelServer, _ extra: [String] = []) async throws -> (ServiceProcess, String) {
        let service = ServiceProcess()
        _ = try await service.command(["accounts", "put", "acme", "--default-region", "CN"])
        let admin = try await service.command(["keys", "create", "--admin"])
        let port = try FreePort.one()
        try await service.start(port: port, arguments: [
            "--public-url", "http://127.0.0.1:\(port)", "--sms-provider", "kannel", "--sms-url", kannel.sendsmsURL,
            "--sms-username", KannelServer.username, "--sms-password", KannelServer.password, "--sms-from", "12345",
        ] + extra)
        return (service, admin)
    }

    static func field(_ body: String, _ path: [String]) -> String? {
        var value: Any? = try? JSONSerialization.jsonObject(with: Data(body.utf8))
        for key in path { value = (value as? [String: Any])?[key] }
        return value as? String
    }

    @Test("a code SMS reaches the fake SMSC, its code approves, and Kannel's delivery report marks it delivered")
    func codeEndToEnd() async throws {
        let kannel = try KannelServer()
        defer { kannel.stop() }
        try await kannel.start()
        let (service, admin) = try await Self.start(kannel)
        defer { service.stop() }

        let (_, contact) = try await service.request("POST", "/v1/accounts/acme/contacts", key: admin, body: #"{"name":"Ann","phone":"13800138000"}"#)
        let contactID = try #require(Self.field(contact, ["id"]))
        let (status, started) = try await service.request(
            "POST", "/v1/accounts/acme/contacts/\(contactID)/verifications", key: admin, body: #"{"channel":"sms"}"#)
        #expect(status == 202)
        let verification = try #require(Self.field(started, ["id"]))

        try await waitFor(kannel.received().contains { $0.to == "+8613800138000" }, "the SMS at the fake SMSC")
        let text = try #require(kannel.received().last { $0.to == "+8613800138000" }?.text)
        let code = try #require(text.firstMatch(of: /\b(\d{6})\b/)).1
        let (checked, body) = try await service.request(
            "POST", "/v1/accounts/acme/verifications/\(verification)/check", key: admin, body: #"{"code":"\#(code)"}"#)
        #expect(checked == 200, "\(body)")
        #expect(Self.field(body, ["status"]) == "approved")

        // The fake SMSC acknowledges every message; Kannel calls our delivery-report URL.
        var delivery: String?
        let deadline = ContinuousClock.now + .seconds(20)
        while ContinuousClock.now < deadline {
            let (_, read) = try await service.request("GET", "/v1/accounts/acme/verifications/\(verification)", key: admin)
            delivery = Self.field(read, ["delivery", "status"])
            if delivery == "delivered" { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(delivery == "delivered")
        #expect(await service.terminate() == 0)
    }

    @Test("with the SMSC down Kannel queues the message, and it arrives when the SMSC returns")
    func smscDown() async throws {
        let kannel = try KannelServer()
        defer { kannel.stop() }
        try await kannel.start()
        let (service, admin) = try await Self.start(kannel)
        defer { service.stop() }
        try await kannel.stopSMSC()

        _ = try await service.startSMSVerification(phone: "13900139000", key: admin, method: "link")
        #expect(!kannel.received().contains { $0.to == "+8613900139000" })

        try kannel.startSMSC()
        try await waitFor(kannel.received().contains { $0.to == "+8613900139000" && $0.text.contains("/verify/") }, "the queued SMS", seconds: 90)
        #expect(kannel.received().filter { $0.to == "+8613900139000" }.count == 1, "sent once")
    }

    @Test("a code still queued in Kannel when its validity runs out is dropped by bearerbox, never delivered late (F25)")
    func validityExpires() async throws {
        let kannel = try KannelServer()
        defer { kannel.stop() }
        try await kannel.start()
        // A 120 s code goes out with validity=1 (minutes left, rounded down).
        let (service, admin) = try await Self.start(kannel, ["--code-lifetime", "120"])
        defer { service.stop() }
        try await kannel.stopSMSC()

        let id = try await service.startSMSVerification(phone: "13600136000", key: admin)
        // Kannel accepted it (the service records it as sent) and holds it for the absent SMSC.
        var delivery: String?
        let deadline = ContinuousClock.now + .seconds(20)
        while delivery != "sent", ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
            delivery = Self.field(try await service.request("GET", "/v1/accounts/acme/verifications/\(id)", key: admin).1, ["delivery", "status"])
        }
        #expect(delivery == "sent", "Kannel's 202")
        // The outage outlasts the validity (the fault itself, not a synchronization).
        try await Task.sleep(for: .seconds(62))
        try kannel.startSMSC()
        try await waitFor(
            kannel.accessLog().contains { $0.contains("EXPIRED SMS") && $0.contains("8613600136000") }, "bearerbox dropping it", seconds: 60)
        // A message sent after the SMSC returned arrives, and the expired one still has not.
        _ = try await service.startSMSVerification(phone: "13500135000", key: admin)
        try await waitFor(kannel.received().contains { $0.to == "+8613500135000" }, "the later SMS")
        #expect(!kannel.received().contains { $0.to == "+8613600136000" }, "the expired code was delivered")
    }

    @Test("send-test sends one SMS through the configured gateway and says so")
    func sendTest() async throws {
        let kannel = try KannelServer()
        defer { kannel.stop() }
        try await kannel.start()
        let service = ServiceProcess()
        let output = try await service.command([
            "send-test", "--phone", "+8613800138000", "--sms-provider", "kannel", "--sms-url", kannel.sendsmsURL,
            "--sms-username", KannelServer.username, "--sms-password", KannelServer.password, "--sms-from", "12345",
        ])
        #expect(output.hasPrefix("sent:"), "\(output)")
        try await waitFor(kannel.received().contains { $0.to == "+8613800138000" && $0.text.contains("test message") }, "the test SMS")
    }

    @Test("with Kannel down the message is retried, and delivered once Kannel is back")
    func gatewayDown() async throws {
        let kannel = try KannelServer()
        defer { kannel.stop() }
        try await kannel.start()
        let (service, admin) = try await Self.start(kannel)
        defer { service.stop() }
        kannel.crash()

        let (_, contact) = try await service.request("POST", "/v1/accounts/acme/contacts", key: admin, body: #"{"name":"Cy","phone":"13700137000"}"#)
        let contactID = try #require(Self.field(contact, ["id"]))
        let (_, started) = try await service.request(
            "POST", "/v1/accounts/acme/contacts/\(contactID)/verifications", key: admin, body: #"{"channel":"sms"}"#)
        let verification = try #require(Self.field(started, ["id"]))
        // The worker meets a refused connection and schedules a retry.
        var lastError: String?
        let deadline = ContinuousClock.now + .seconds(20)
        while ContinuousClock.now < deadline, lastError == nil {
            let (_, read) = try await service.request("GET", "/v1/accounts/acme/verifications/\(verification)", key: admin)
            lastError = Self.field(read, ["delivery", "lastError", "code"])
            if lastError == nil { try await Task.sleep(for: .milliseconds(50)) }
        }
        #expect(lastError == "http_not_sent")

        try await kannel.startBearerbox()
        try kannel.startSMSC()
        try kannel.startSmsbox()
        try await waitFor(kannel.received().contains { $0.to == "+8613700137000" }, "the retried SMS", seconds: 90)
        #expect(kannel.received().filter { $0.to == "+8613700137000" }.count == 1, "sent once")
    }
}

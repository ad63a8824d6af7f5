import ContactVerifyAPI
import ContactVerifyCore
import ContactVerifyDelivery
import Foundation
import TestServers
import Testing

/// Email verifications end to end through the API, the outbox worker, the libcurl SMTP
/// transport and a real SMTP server (Postfix smtp-sink or aiosmtpd); see SMTPServers.swift.
@Suite("SMTP delivery")
struct SMTPDeliveryTests {
    static let from = "ContactVerify Tests <verify@contact-verify.test>"
    static let helo = "cv-tests.example"

    // MARK: Delivered and approved

    @Test("a code email reaches smtp-sink with one recipient, and its code approves the verification")
    func codeEmail() async throws {
        try await Self.afterFirstSend { _, client, sink, _, id in
            let mails = try sink.messages()
            #expect(mails.count == 1)
            let mail = try #require(mails.first)
            #expect(mail.recipients == ["<ann@example.com>"], "exactly one RCPT: the contact's address")
            #expect(mail.header("X-Mail-Args") == ["<verify@contact-verify.test>"])
            #expect(mail.header("X-Helo-Args") == [Self.helo])
            #expect(mail.header("To") == ["ann@example.com"])
            #expect(mail.header("Message-ID").first?.hasSuffix("@contact-verify.test>") == true)

            let delivery = try await Self.delivery(client, id)
            #expect(delivery.status == "sent")
            #expect(delivery.errorCode == nil)
            let checked = try await client.check("acme", verification: id, code: try mail.code())
            #expect(checked.status == .ok)
            #expect(checked.string("status") == "approved")
        }
    }

    @Test("a link email reaches smtp-sink, and its link confirms the address")
    func linkEmail() async throws {
        try await Self.afterFirstSend(method: "link") { _, client, sink, contact, id in
            let mail = try #require(try sink.messages().first)
            let token = try mail.linkToken()
            let confirmed = try await client.call(.post, "/v1/links/\(token)/confirm", key: "")
            #expect(confirmed.status == .ok, "\(confirmed.text)")
            #expect(try await client.call(.get, "/v1/accounts/acme/verifications/\(id)").string("status") == "approved")
            let contactReply = try await client.call(.get, "/v1/accounts/acme/contacts/\(contact)")
            guard case .object(let email)? = contactReply["email"] else { Issue.record("no email"); return }
            #expect(email["status"] == .string("verified"))
        }
    }

    @Test("lines starting with a dot arrive intact: libcurl dot-stuffs, the server removes it")
    func dotStuffing() async throws {
        let sink = try await SMTPSink.start()
        defer { sink.remove() }
        let transport = try SMTPTransport(Self.plain(sink))
        let lines = [".first line starts with a dot", "Subject: dots", "", ".", "..", ".hidden", "middle", ". space", "last line without CRLF"]
        _ = try await transport.send(Array(lines.joined(separator: "\r\n").utf8), to: "ann@example.com")
        let mail = try #require(try sink.messages().first)
        // After smtp-sink's own header lines comes the message, line for line.
        let received = Array(mail.lines.drop { !$0.hasPrefix(".first") })
        #expect(Array(received.prefix(lines.count)) == lines)
    }

    // MARK: Faults (smtp-sink)

    @Test("a 4xx reply keeps the message queued for retry with the reply as last error", arguments: ["MAIL", "RCPT", "DATA", "."])
    func softRejection(command: String) async throws {
        let sink = try await SMTPSink.start(["-r", command, "-b", "451 4.3.0 Try again later"])
        defer { sink.remove() }
        try await Self.expectRetry(sink: sink, code: "smtp_451", message: "451 4.3.0 Try again later")
    }

    @Test("a 5xx reply fails the verification with the server's code and text", arguments: ["MAIL", "RCPT", "DATA", "."])
    func hardRejection(command: String) async throws {
        try await Self.afterFirstSend(["-f", command, "-B", "554 5.7.1 <ann@example.com>: rejected by policy"]) { _, client, _, _, id in
            let delivery = try await Self.delivery(client, id)
            #expect(delivery.verification == "failed")
            #expect(delivery.status == "failed")
            #expect(delivery.errorCode == "smtp_554")
            let message = try #require(delivery.errorMessage)
            #expect(message.contains("554 5.7.1 <a***@example.com>: rejected by policy"), "\(message)")
            #expect(!message.contains("ann@example.com"), "the address in the reply is masked")
        }
    }

    /// A disconnect fault of smtp-sink and the error code the retry must show.
    struct Disconnect: Sendable, CustomTestStringConvertible {
        var flag: String
        var command: String
        var code: String
        var testDescription: String { "\(flag) \(command) → \(code)" }
    }

    @Test(
        "a dropped connection or a 421 is retried; a reply lost after the final dot is ambiguous",
        arguments: [
            Disconnect(flag: "-q", command: ".", code: "smtp_reply_lost"),
            Disconnect(flag: "-Q", command: ".", code: "smtp_421"),
            Disconnect(flag: "-q", command: "RCPT", code: "smtp_connection_lost"),
            Disconnect(flag: "-Q", command: "CONNECT", code: "smtp_421"),
        ])
    func disconnects(_ fault: Disconnect) async throws {
        let sink = try await SMTPSink.start([fault.flag, fault.command])
        defer { sink.remove() }
        try await Self.expectRetry(sink: sink, code: fault.code)
    }

    /// `-w` holds the 354 reply to DATA, before any content is sent: a plain transient timeout.
    /// The reply lost after the final dot (`-W .:5`, ambiguous) is in WorkerFaultTests.swift.
    @Test("a 354 reply to DATA slower than the timeout is a transient smtp_timeout: nothing was handed over, retried")
    func slowServer() async throws {
        let sink = try await SMTPSink.start(["-w", "5"])
        defer { sink.remove() }
        try await Self.expectRetry(sink: sink, code: "smtp_timeout", timeout: 1)
    }

    @Test("a message retried after a 4xx is delivered once the server accepts again")
    func deliveredAfterRecovery() async throws {
        try await Self.afterFirstSend(["-r", "RCPT"]) { app, client, failing, _, id in
            #expect(try await Self.delivery(client, id).status == "queued")

            let healthy = try await Self.recovered(failing)
            defer { healthy.remove() }
            app.clock.advance(by: 61)  // past the first backoff (at most 2 s), well inside the code's 10 minutes
            try await app.deliver()
            let delivery = try await Self.delivery(client, id)
            #expect(delivery.status == "sent")
            #expect(delivery.attempts == 2)
            let mail = try #require(try healthy.messages().first)
            #expect(try await client.check("acme", verification: id, code: try mail.code()).string("status") == "approved")
        }
    }

    /// An smtp-sink fault and how the transport must classify it.
    struct Fault: Sendable, CustomTestStringConvertible {
        var flags: [String]
        var kind: DeliveryError.Kind
        var code: String
        var testDescription: String { "\(flags.joined(separator: " ")) → \(kind.rawValue) \(code)" }
    }

    @Test(
        "the transport classifies each failure as transient, permanent or ambiguous",
        arguments: [
            Fault(flags: ["-r", "MAIL"], kind: .transient, code: "smtp_450"),
            Fault(flags: ["-r", "."], kind: .transient, code: "smtp_450"),
            Fault(flags: ["-f", "RCPT"], kind: .permanent, code: "smtp_500"),
            Fault(flags: ["-f", "."], kind: .permanent, code: "smtp_500"),
            Fault(flags: ["-f", "RCPT", "-B", "552 5.3.4 Too many recipients"], kind: .transient, code: "smtp_552"),
            Fault(flags: ["-f", "DATA", "-B", "552 5.3.4 Message too big"], kind: .permanent, code: "smtp_552"),
            Fault(flags: ["-Q", "CONNECT"], kind: .transient, code: "smtp_421"),
            Fault(flags: ["-Q", "."], kind: .transient, code: "smtp_421"),
            Fault(flags: ["-q", "DATA"], kind: .transient, code: "smtp_connection_lost"),
            Fault(flags: ["-q", "."], kind: .ambiguous, code: "smtp_reply_lost"),
        ])
    func classification(_ fault: Fault) async throws {
        let sink = try await SMTPSink.start(fault.flags)
        defer { sink.remove() }
        let transport = try SMTPTransport(Self.plain(sink))
        let message = Array("Subject: test\r\n\r\nhello\r\n".utf8)
        do {
            let receipt = try await transport.send(message, to: "ann@example.com")
            Issue.record("delivered: \(receipt)")
        } catch {
            #expect(error.kind == fault.kind, "\(error)")
            #expect(error.code == fault.code, "\(error)")
        }
    }

    @Test("a refused connection is transient, and the receipt of an accepted message carries the queue id")
    func connectFailureAndReceipt() async throws {
        let server = try await AiosmtpdServer.start()
        defer { server.remove() }
        let closed = try FreePort.one()
        let refused = try SMTPTransport(SMTPConfiguration.parse(url: "smtp://127.0.0.1:\(closed)", tls: "none", from: Self.from))
        let message = Array("Subject: test\r\n\r\nhello\r\n".utf8)
        do {
            _ = try await refused.send(message, to: "ann@example.com")
            Issue.record("delivered to a closed port")
        } catch {
            #expect(error.kind == .transient)
            #expect(error.code == "smtp_connect_failed", "\(error)")
        }
        let transport = try SMTPTransport(SMTPConfiguration.parse(url: "smtp://127.0.0.1:\(server.plainPort)", tls: "none", from: Self.from))
        let receipt = try await transport.send(message, to: "ann@example.com")
        #expect(receipt.providerMessageID == "CV000001")
    }

    // MARK: TLS and AUTH (aiosmtpd)

    @Test("STARTTLS and AUTH with the server's certificate as CA file deliver the code")
    func startTLSAndAuth() async throws {
        let server = try await AiosmtpdServer.start()
        defer { server.remove() }
        let configuration = try SMTPConfiguration.parse(
            url: "smtp://\(AiosmtpdServer.user):\(AiosmtpdServer.password)@127.0.0.1:\(server.starttlsPort)", tls: "required",
            from: Self.from, caFile: server.certificatePath, helo: Self.helo, timeoutSeconds: 20)
        let mail = try await Self.deliverAndApprove(through: SMTPTransport(configuration), read: server.messages)
        #expect(mail.header("X-Listener") == ["starttls"])
        #expect(mail.header("X-TLS") == ["yes"])
        #expect(mail.header("X-Auth-User") == [AiosmtpdServer.user])
        #expect(mail.recipients == ["<ann@example.com>"])
    }

    @Test("SMTPS (implicit TLS) with AUTH delivers the code")
    func implicitTLS() async throws {
        let server = try await AiosmtpdServer.start()
        defer { server.remove() }
        let configuration = try SMTPConfiguration.parse(
            url: "smtps://\(AiosmtpdServer.user):\(AiosmtpdServer.password)@127.0.0.1:\(server.smtpsPort)", from: Self.from,
            caFile: server.certificatePath, helo: Self.helo, timeoutSeconds: 20)
        let mail = try await Self.deliverAndApprove(through: SMTPTransport(configuration), read: server.messages)
        #expect(mail.header("X-Listener") == ["smtps"])
        #expect(mail.header("X-Auth-User") == [AiosmtpdServer.user])
    }

    @Test("a wrong password fails the verification with smtp_auth_failed, without the password in the error")
    func wrongPassword() async throws {
        let server = try await AiosmtpdServer.start()
        defer { server.remove() }
        let configuration = try SMTPConfiguration.parse(
            url: "smtp://\(AiosmtpdServer.user):Wrong-Pass-123@127.0.0.1:\(server.starttlsPort)", from: Self.from,
            caFile: server.certificatePath, timeoutSeconds: 20)
        let delivery = try await Self.deliverOnce(through: SMTPTransport(configuration))
        #expect(delivery.verification == "failed")
        #expect(delivery.errorCode == "smtp_auth_failed")
        #expect(delivery.errorMessage?.contains("535") == true, "\(delivery.errorMessage ?? "")")
        #expect(delivery.errorMessage?.contains("Wrong-Pass-123") == false)
        #expect(try server.messages().isEmpty)
    }

    @Test("an untrusted certificate fails closed: nothing sent, retried later with smtp_tls_untrusted, counted for an alert")
    func untrustedCertificate() async throws {
        let server = try await AiosmtpdServer.start()
        defer { server.remove() }
        let configuration = try SMTPConfiguration.parse(
            url: "smtp://\(AiosmtpdServer.user):\(AiosmtpdServer.password)@127.0.0.1:\(server.starttlsPort)", from: Self.from,
            timeoutSeconds: 20)  // no CA file: the system store does not know the self-signed certificate
        let delivery = try await Self.deliverOnce(through: SMTPTransport(configuration))
        #expect(delivery.verification == "pending")
        #expect(delivery.status == "queued")
        #expect(delivery.errorCode == "smtp_tls_untrusted")
        #expect(delivery.tlsFailures == 1, "counted for an alert")
        #expect(try server.messages().isEmpty)
    }

    @Test("TLS required against a server without STARTTLS fails closed: nothing sent, retried with smtp_starttls_unavailable, counted for an alert")
    func startTLSUnavailable() async throws {
        let sink = try await SMTPSink.start()
        defer { sink.remove() }
        let configuration = try SMTPConfiguration.parse(url: "smtp://127.0.0.1:\(sink.port)", tls: "required", from: Self.from, timeoutSeconds: 20)
        let delivery = try await Self.deliverOnce(through: SMTPTransport(configuration))
        #expect(delivery.verification == "pending")
        #expect(delivery.status == "queued")
        #expect(delivery.errorCode == "smtp_starttls_unavailable")
        #expect(delivery.tlsFailures == 1, "counted for an alert")
        #expect(try sink.messages().isEmpty, "no cleartext transaction")
    }

    // MARK: Connections

    @Test("twenty messages with one connection allowed go over a single TCP connection")
    func connectionReuse() async throws {
        let server = try await AiosmtpdServer.start()
        defer { server.remove() }
        let configuration = try SMTPConfiguration.parse(
            url: "smtp://\(AiosmtpdServer.user):\(AiosmtpdServer.password)@127.0.0.1:\(server.starttlsPort)", from: Self.from,
            caFile: server.certificatePath, connections: 1, timeoutSeconds: 20)
        let mails = try await Self.deliverMany(20, through: SMTPTransport(configuration), read: server.messages)
        // aiosmtpd_server.py records each message's client address and port: one port, one connection.
        let peers = Set(mails.flatMap { $0.header("X-Peer") })
        #expect(peers.count == 1, "\(peers)")
    }

    @Test("forty messages over four parallel connections each reach their own recipient with their own code")
    func parallelConnections() async throws {
        let server = try await AiosmtpdServer.start()
        defer { server.remove() }
        let configuration = try SMTPConfiguration.parse(
            url: "smtp://127.0.0.1:\(server.plainPort)", tls: "none", from: Self.from, connections: 4, timeoutSeconds: 20)
        let mails = try await Self.deliverMany(40, through: SMTPTransport(configuration), read: server.messages)
        let peers = Set(mails.flatMap { $0.header("X-Peer") })
        #expect((1...4).contains(peers.count), "\(peers)")
    }

    // MARK: Helpers

    /// smtp-sink without TLS, short-lived test defaults.
    static func plain(_ sink: SMTPSink, timeout: Double = 20) throws -> SMTPConfiguration {
        try SMTPConfiguration.parse(
            url: "smtp://127.0.0.1:\(sink.port)", tls: "none", from: from, helo: helo, connections: 2, timeoutSeconds: timeout)
    }

    /// Account `acme` with contact Ann; returns the contact id.
    static func setUp(_ client: Client) async throws -> String {
        _ = try await client.makeAccount("acme")
        return try await client.makeContact("acme", #"{"name":"Ann","email":"ann@example.com"}"#)
    }

    /// Starts an email verification; returns its id.
    static func start(_ client: Client, contact: String, method: String = "code") async throws -> String {
        let reply = try await client.startVerification("acme", contact: contact, #"{"channel":"email","method":"\#(method)"}"#)
        #expect(reply.status == .accepted, "\(reply.text)")
        return try #require(reply.string("id"))
    }

    /// Where the delivery tests start: an app sending email through `transport` (`configure` adds
    /// to its configuration), Ann's contact and one email verification by `method`, after one
    /// delivery pass. Runs `body` with the app, its client, the contact's and the verification's
    /// ids; removes the app afterwards.
    static func afterFirstSend<R: Sendable>(
        through transport: SMTPTransport, method: String = "code", configure: (inout ServiceConfiguration) -> Void = { _ in },
        _ body: @escaping @Sendable (TestApp, Client, _ contact: String, _ id: String) async throws -> R
    ) async throws -> R {
        let app = try await TestApp.make {
            $0.emailTransport = transport
            configure(&$0)
        }
        defer { app.remove() }
        return try await app.test { client in
            let contact = try await setUp(client)
            let id = try await start(client, contact: contact, method: method)
            try await app.deliver()
            return try await body(app, client, contact, id)
        }
    }

    /// ``afterFirstSend(through:method:configure:_:)`` through a Postfix smtp-sink started with
    /// `sinkArguments` (a plain connection), which `body` gets too; removes the sink afterwards.
    static func afterFirstSend(
        _ sinkArguments: [String] = [], method: String = "code", configure: (inout ServiceConfiguration) -> Void = { _ in },
        _ body: @escaping @Sendable (TestApp, Client, SMTPSink, _ contact: String, _ id: String) async throws -> Void
    ) async throws {
        let sink = try await SMTPSink.start(sinkArguments)
        defer { sink.remove() }
        try await afterFirstSend(through: SMTPTransport(plain(sink)), method: method, configure: configure) { app, client, contact, id in
            try await body(app, client, sink, contact, id)
        }
    }

    /// Stops `sink` and starts a healthy smtp-sink on its port: the server recovered.
    static func recovered(_ sink: SMTPSink) async throws -> SMTPSink {
        sink.stop()
        return try await SMTPSink.start(port: sink.port)
    }

    struct Delivery {
        var verification: String?
        var status: String?
        var attempts: Int?
        var errorCode: String?
        var errorMessage: String?
        /// `delivery_tls_failures_total{channel="email"}` after the delivery (F12's alert).
        var tlsFailures: Double = 0
    }

    /// The verification's status and its message's delivery state.
    static func delivery(_ client: Client, _ id: String) async throws -> Delivery {
        let reply = try await client.call(.get, "/v1/accounts/acme/verifications/\(id)")
        var result = Delivery(verification: reply.string("status"))
        guard case .object(let delivery)? = reply["delivery"] else { return result }
        if case .string(let status)? = delivery["status"] { result.status = status }
        if case .number(let attempts)? = delivery["attempts"] { result.attempts = Int(attempts) }
        if case .object(let error)? = delivery["lastError"] {
            if case .string(let code)? = error["code"] { result.errorCode = code }
            if case .string(let message)? = error["message"] { result.errorMessage = message }
        }
        return result
    }

    /// One verification delivered through `transport` once; returns its delivery state.
    static func deliverOnce(through transport: SMTPTransport) async throws -> Delivery {
        try await afterFirstSend(through: transport) { _, client, _, id in
            var result = try await delivery(client, id)
            result.tlsFailures = try await client.metric("delivery_tls_failures_total", #"channel="email""#)
            return result
        }
    }

    /// Expects the one message to `sink` to be queued for another attempt with `code`, the
    /// verification still pending.
    static func expectRetry(sink: SMTPSink, code: String, message: String? = nil, timeout: Double = 20) async throws {
        let delivery = try await deliverOnce(through: SMTPTransport(plain(sink, timeout: timeout)))
        #expect(delivery.verification == "pending")
        #expect(delivery.status == "queued")
        // Full jitter may draw a retry delay below the store's millisecond resolution, due again
        // within the same drain: one attempt, or two that failed the same way.
        #expect((1...2).contains(delivery.attempts ?? 0), "\(delivery.attempts ?? 0) attempts")
        #expect(delivery.errorCode == code, "\(delivery.errorMessage ?? "")")
        #expect(delivery.tlsFailures == 0, "only a failed secure channel is counted as a TLS failure")
        if let message { #expect(delivery.errorMessage?.contains(message) == true, "\(delivery.errorMessage ?? "")") }
    }

    /// Delivers a code verification through `transport`, approves it with the code the server
    /// received, and returns that message.
    static func deliverAndApprove(through transport: SMTPTransport, read: @escaping @Sendable () throws -> [ReceivedMail]) async throws -> ReceivedMail {
        try await afterFirstSend(through: transport) { _, client, _, id in
            let delivery = try await delivery(client, id)
            #expect(delivery.status == "sent", "\(delivery.errorCode ?? "") \(delivery.errorMessage ?? "")")
            let mail = try #require(try read().first)
            #expect(try await client.check("acme", verification: id, code: try mail.code()).string("status") == "approved")
            return mail
        }
    }

    /// `count` contacts with one code verification each, delivered in one outbox pass; every
    /// message must reach its own recipient and approve its own verification. Returns the messages.
    static func deliverMany(_ count: Int, through transport: SMTPTransport, read: @escaping @Sendable () throws -> [ReceivedMail]) async throws -> [ReceivedMail] {
        let app = try await TestApp.make { $0.emailTransport = transport }
        defer { app.remove() }
        return try await app.test { client in
            _ = try await client.makeAccount("acme")
            var verifications: [String: String] = [:]  // address → verification id
            for index in 0..<count {
                let address = "user\(index)@example.com"
                let contact = try await client.makeContact("acme", #"{"name":"User \#(index)","email":"\#(address)"}"#)
                verifications[address] = try await start(client, contact: contact)
            }
            try await app.deliver()
            let mails = try read()
            #expect(mails.count == count)
            var seen = Set<String>()
            for mail in mails {
                #expect(mail.recipients.count == 1)
                let address = try #require(mail.recipients.first).trimmingCharacters(in: CharacterSet(charactersIn: "<>"))
                #expect(mail.header("To") == [address])
                seen.insert(address)
                let id = try #require(verifications[address])
                #expect(try await client.check("acme", verification: id, code: try mail.code()).string("status") == "approved", "\(address)")
            }
            #expect(seen.count == count)
            return mails
        }
    }
}

@Suite("SMTP configuration")
struct SMTPConfigurationTests {
    @Test("a full smtp URL gives host, port, percent-decoded credentials and the settings")
    func parsesURL() throws {
        let configuration = try SMTPConfiguration.parse(
            url: "smtp://mailer%40acme:p%40ss%3Aw%2Frd@Mail.Example.com:587", tls: "REQUIRED",
            from: "\"Acme, Inc.\" <no-reply@acme.example>", helo: "api.acme.example", connections: 8, timeoutSeconds: 45)
        #expect(configuration.host == "mail.example.com")
        #expect(configuration.port == 587)
        #expect(!configuration.implicitTLS)
        #expect(configuration.username == "mailer@acme")
        #expect(configuration.password == "p@ss:w/rd")
        #expect(configuration.tls == .required)
        #expect(configuration.fromName == "Acme, Inc.")
        #expect(configuration.fromAddress == "no-reply@acme.example")
        #expect(configuration.heloName == "api.acme.example")
        #expect(configuration.connections == 8)
        #expect(configuration.timeout == .seconds(45))
        #expect(configuration.connectTimeout == .seconds(10))
    }

    @Test("default ports: 25 for smtp, 465 for smtps; a bare address is a sender without a name")
    func defaults() throws {
        let plain = try SMTPConfiguration.parse(url: "smtp://relay.internal", tls: "none", from: "bot@example.com")
        #expect(plain.port == 25)
        #expect(plain.fromName == "")
        #expect(plain.fromAddress == "bot@example.com")
        let implicit = try SMTPConfiguration.parse(url: "smtps://[::1]/")
        #expect(implicit.port == 465)
        #expect(implicit.host == "::1")
        #expect(implicit.implicitTLS)
        #expect(implicit.fromName == "ContactVerify")
        #expect(implicit.fromAddress == "no-reply@localhost")
    }

    /// One rejected combination of CLI settings and the flag the error must name.
    struct Invalid: Sendable, CustomTestStringConvertible {
        var url = "smtp://mail.example.com"
        var tls = "required"
        var from = "a@b.example"
        var caFile: String?
        var helo: String?
        var connections = 4
        var timeout = 30.0
        var setting: String
        var testDescription: String { "\(setting): \(url) \(tls) \(from) \(helo ?? "") \(connections) \(timeout)" }
    }

    @Test(
        "invalid settings name the flag at fault",
        arguments: [
            Invalid(url: "http://mail.example.com", setting: "smtp-url"),
            Invalid(url: "mail.example.com:25", setting: "smtp-url"),
            Invalid(url: "smtp://mail.example.com/helo", setting: "smtp-url"),
            Invalid(url: "smtp://mail.example.com?x=1", setting: "smtp-url"),
            Invalid(url: "smtp://mail.example.com:0", setting: "smtp-url"),
            Invalid(url: "smtp://mail.example.com:70000", setting: "smtp-url"),
            Invalid(url: "smtp://mail_server:25", setting: "smtp-url"),
            Invalid(url: "smtp://:25", setting: "smtp-url"),
            Invalid(url: "smtp://u:p%zz@mail.example.com", setting: "smtp-url"),
            Invalid(url: "smtp://u:se cret@mail.example.com", setting: "smtp-url"),
            Invalid(tls: "starttls", setting: "smtp-tls"),
            Invalid(url: "smtps://mail.example.com", tls: "none", setting: "smtp-tls"),
            Invalid(url: "smtp://u:secret@mail.example.com", tls: "none", setting: "smtp-tls"),
            Invalid(url: "smtp://u:secret@mail.example.com", tls: "opportunistic", setting: "smtp-tls"),
            Invalid(from: "ContactVerify", setting: "smtp-from"),
            Invalid(from: "Bot <a@b.example>, c@d.example", setting: "smtp-from"),
            Invalid(from: "Bot\r\nBcc: x@evil.example <a@b.example>", setting: "smtp-from"),
            Invalid(from: "Bot <a@b.example\r\nRCPT TO:<x@evil.example>>", setting: "smtp-from"),
            Invalid(caFile: "/nonexistent/ca.pem", setting: "smtp-ca-file"),
            Invalid(helo: "bad helo", setting: "smtp-helo"),
            Invalid(helo: "[127.0.0.1]", setting: "smtp-helo"),
            Invalid(connections: 0, setting: "smtp-connections"),
            Invalid(connections: 65, setting: "smtp-connections"),
            Invalid(timeout: 0, setting: "smtp-timeout"),
            Invalid(timeout: 601, setting: "smtp-timeout"),
            Invalid(timeout: .nan, setting: "smtp-timeout"),
        ])
    func invalid(_ case: Invalid) {
        do {
            _ = try SMTPConfiguration.parse(
                url: `case`.url, tls: `case`.tls, from: `case`.from, caFile: `case`.caFile, helo: `case`.helo,
                connections: `case`.connections, timeoutSeconds: `case`.timeout)
            Issue.record("accepted")
        } catch {
            #expect(error.setting == `case`.setting, "\(error)")
            #expect(!error.description.contains("secret"))
        }
    }

    @Test("credentials over a loopback relay may go without TLS")
    func loopbackRelay() throws {
        let configuration = try SMTPConfiguration.parse(url: "smtp://u:secret@127.0.0.1:2525", tls: "none")
        #expect(configuration.username == "u")
    }

    @Test("the password appears in no description")
    func passwordHidden() throws {
        let configuration = try SMTPConfiguration.parse(url: "smtps://mailer:Top-Secret-99@mail.example.com")
        #expect(configuration.redactedURL == "smtps://mailer:***@mail.example.com:465")
        for text in [configuration.description, String(describing: configuration), String(reflecting: configuration), "\(configuration)"] {
            #expect(!text.contains("Top-Secret-99"), "\(text)")
        }
        var dumped = ""
        dump(configuration, to: &dumped)
        #expect(!dumped.contains("Top-Secret-99"))
    }
}

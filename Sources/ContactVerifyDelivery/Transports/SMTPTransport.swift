import CCurl
import ContactVerifyCore
import Foundation

/// Delivers email to an SMTP server through libcurl (design §5).
///
/// Each message is one SMTP transaction with exactly one recipient, the message's `to`
/// (`MAIL FROM`, one `RCPT TO`, `DATA`), carrying the bytes of ``MIMEMessage/build(fromName:fromAddress:to:subject:text:html:date:messageID:)``;
/// libcurl adds the dot-stuffing. ``SMTPConfiguration/connections`` threads each keep one
/// connection open and reuse it for the next message, so a burst of messages costs one
/// EHLO/STARTTLS/AUTH per connection, not per message.
///
/// Results are classified for the outbox worker:
///
/// | what happened | kind | code |
/// |---|---|---|
/// | 4xx reply (greeting, MAIL, RCPT, DATA or after the final ".") | transient | `smtp_451`… |
/// | 5xx reply (552 on RCPT is treated as 4xx, RFC 5321 §4.5.3.1.10) | permanent | `smtp_550`… |
/// | no connection, TLS handshake failure | transient | `smtp_connect_failed`, `smtp_tls_failed` |
/// | timeout or lost connection before the whole message was handed over | transient | `smtp_timeout`, `smtp_connection_lost` |
/// | timeout or lost connection after it, while waiting for the reply to "." | ambiguous | `smtp_reply_lost` |
/// | TLS required but no STARTTLS offered (fail closed, security.md F12) | transient | `smtp_starttls_unavailable` |
/// | AUTH refused (535…; a 4xx such as 454 is transient) | permanent | `smtp_auth_failed` |
/// | certificate not trusted (fail closed, security.md F12) | transient | `smtp_tls_untrusted` |
///
/// A failure's `message` is the server's reply (addresses in it masked) or libcurl's
/// explanation; never the password.
///
/// ```swift
/// let transport = try SMTPTransport(.parse(url: "smtp://127.0.0.1:2525", tls: "none"))
/// let receipt = try await transport.deliver(message)
/// ```
public final class SMTPTransport: MessageTransport {
    /// The provider named in metrics.
    public var providerName: String { "smtp" }

    /// The server and policies this transport uses.
    public let configuration: SMTPConfiguration
    private let workers: CurlWorkers

    /// Creates a transport and its connection threads; nothing connects until the first message.
    ///
    /// - Throws: ``SMTPConfigurationError`` when the configuration cannot work.
    public init(_ configuration: SMTPConfiguration) throws(SMTPConfigurationError) {
        try configuration.validate()
        self.configuration = configuration
        workers = CurlWorkers(name: "smtp", threads: configuration.connections)
    }

    /// Builds the MIME message and sends it to `message.to`.
    ///
    /// - Throws: a ``DeliveryError`` classified as in the type's table; `invalid_message`
    ///   (permanent) when the message cannot be built safely.
    public func deliver(_ message: OutboundMessage) async throws(DeliveryError) -> DeliveryReceipt {
        guard message.channel == .email, let email = message.email else {
            throw DeliveryError(kind: .permanent, code: "missing_content", message: "the SMTP transport sends rendered emails only")
        }
        let bytes: [UInt8]
        do {
            bytes = try MIMEMessage.build(
                fromName: configuration.fromName, fromAddress: configuration.fromAddress, to: message.to, subject: email.subject,
                text: email.text, html: email.html, date: Date(), messageID: "\(message.id)@\(messageIDDomain)")
        } catch {
            throw DeliveryError(kind: .permanent, code: "invalid_message", message: error.description)
        }
        return try await send(bytes, to: message.to)
    }

    /// Sends an already built RFC 5322 message (CRLF line endings) to one recipient: the
    /// lower half of ``deliver(_:)``, for `send-test` and for tests of the SMTP layer.
    ///
    /// - Throws: a ``DeliveryError`` classified as in the type's table; `invalid_address`
    ///   (permanent) when `to` is not a plain `local@domain`.
    public func send(_ bytes: [UInt8], to recipient: String) async throws(DeliveryError) -> DeliveryReceipt {
        guard MIMEMessage.isPlainAddress(recipient) else {
            throw DeliveryError(kind: .permanent, code: "invalid_address", message: "the recipient is not a plain address")
        }
        let configuration = self.configuration
        let result = await workers.run { easy in Self.transfer(bytes, to: recipient, on: easy, configuration: configuration) }
        switch result {
        case .success(let outcome): return try outcome.get()
        case .failure(let error): throw DeliveryError(kind: .transient, code: "smtp_unavailable", message: error.description)
        }
    }

    /// The right-hand side of Message-IDs: the sender's domain.
    private var messageIDDomain: String {
        String(configuration.fromAddress.split(separator: "@").last ?? "contact-verify.local")
    }

    // MARK: Transfer (on a worker thread)

    private static func transfer(
        _ bytes: [UInt8], to recipient: String, on easy: CurlEasy, configuration: SMTPConfiguration
    ) -> Result<DeliveryReceipt, DeliveryError> {
        let transfer = CurlTransfer(upload: bytes, responseLimit: 64 * 1024)
        easy.reset()
        do throws(CurlSetupError) {
            try configure(easy, recipient: recipient, size: bytes.count, configuration: configuration)
        } catch {
            return .failure(DeliveryError(kind: .permanent, code: "smtp_config", message: "libcurl refused a setting: \(error)"))
        }
        let code = easy.perform(transfer)
        let replies = SMTPReplies(lines: transfer.headerLines)
        if code == CURLE_OK {
            let text = replies.last.map { $0.text } ?? ""
            return .success(DeliveryReceipt(providerMessageID: queueID(in: text), detail: "accepted by the SMTP server"))
        }
        // The reply that failed the transaction: the last one with the reported code (libcurl
        // may have sent QUIT after it, whose "221 Bye" comes later).
        let responseCode = easy.responseCode
        let reply = replies.replies.last { $0.code == responseCode } ?? replies.last
        return .failure(
            classify(
                code, responseCode: responseCode, reply: reply, curlMessage: easy.errorMessage(code),
                dataSent: transfer.uploadComplete, recipient: recipient, password: configuration.password))
    }

    private static func configure(_ easy: CurlEasy, recipient: String, size: Int, configuration: SMTPConfiguration) throws(CurlSetupError) {
        try easy.set(CURLOPT_URL, configuration.curlURL)
        try easy.set(CURLOPT_PROTOCOLS_STR, "smtp,smtps")
        try easy.set(CURLOPT_MAIL_FROM, "<\(configuration.fromAddress)>")
        try easy.set(CURLOPT_MAIL_RCPT, list: ["<\(recipient)>"])
        try easy.set(CURLOPT_UPLOAD, 1)
        try easy.set(CURLOPT_INFILESIZE_LARGE, offset: Int64(size))
        let timeout = CurlHTTPClient.milliseconds(configuration.timeout)
        try easy.set(CURLOPT_TIMEOUT_MS, timeout)
        try easy.set(CURLOPT_CONNECTTIMEOUT_MS, min(timeout, CurlHTTPClient.milliseconds(configuration.connectTimeout)))
        // Also bounds the wait for the reply to QUIT when a cached connection is closed.
        try easy.set(CURLOPT_SERVER_RESPONSE_TIMEOUT, max(1, (timeout + 999) / 1000))
        let useSSL: curl_usessl =
            switch configuration.tls {
            case .required: CURLUSESSL_ALL
            case .opportunistic: CURLUSESSL_TRY
            case .none: CURLUSESSL_NONE
            }
        try easy.set(CURLOPT_USE_SSL, Int(useSSL.rawValue))
        if let caFile = configuration.caFile { try easy.set(CURLOPT_CAINFO, caFile) }
        try easy.set(CURLOPT_SSL_VERIFYPEER, configuration.verifyCertificates ? 1 : 0)
        try easy.set(CURLOPT_SSL_VERIFYHOST, configuration.verifyCertificates ? 2 : 0)
        if let username = configuration.username {
            try easy.set(CURLOPT_USERNAME, username)
            try easy.set(CURLOPT_PASSWORD, configuration.password ?? "")
        }
    }

    // MARK: Classification

    /// The ``DeliveryError`` for a failed transfer.
    ///
    /// - Parameters:
    ///   - code: libcurl's result.
    ///   - responseCode: `CURLINFO_RESPONSE_CODE`, the last reply code (0 for none).
    ///   - reply: the last complete reply the server sent.
    ///   - curlMessage: libcurl's error text (`RCPT failed: 550`…).
    ///   - dataSent: whether libcurl had taken the whole message from the read callback, so
    ///     that only the reply to the final "." could be missing.
    static func classify(
        _ code: CURLcode, responseCode: Int, reply: SMTPReply?, curlMessage: String, dataSent: Bool, recipient: String,
        password: String?
    ) -> DeliveryError {
        func message(_ text: String) -> String { sanitized(text, recipient: recipient, password: password) }
        let replyText = reply.map { "\($0.code) \($0.text)" }
        let explanation = message(replyText.map { "\($0) (\(curlMessage))" } ?? curlMessage)

        switch code {
        case CURLE_USE_SSL_FAILED:
            if (400..<500).contains(responseCode) {  // STARTTLS offered but refused for now (454)
                return DeliveryError(kind: .transient, code: "smtp_\(responseCode)", message: explanation)
            }
            // Fail closed but keep trying (security.md F12): never a cleartext downgrade.
            return DeliveryError(
                kind: .transient, code: "smtp_starttls_unavailable",
                message: message("TLS is required but the server does not offer STARTTLS: \(curlMessage)"), isTLSFailure: true)
        case CURLE_LOGIN_DENIED:
            if (400..<500).contains(responseCode) {
                return DeliveryError(kind: .transient, code: "smtp_\(responseCode)", message: explanation)
            }
            return DeliveryError(kind: .permanent, code: "smtp_auth_failed", message: "authentication failed: " + explanation)
        case CURLE_PEER_FAILED_VERIFICATION:
            return DeliveryError(kind: .transient, code: "smtp_tls_untrusted", message: message("the server's certificate is not trusted: \(curlMessage)"),
                isTLSFailure: true)
        case CURLE_SSL_CACERT_BADFILE, CURLE_SSL_CERTPROBLEM, CURLE_SSL_CRL_BADFILE:
            return DeliveryError(kind: .permanent, code: "smtp_tls_config", message: message(curlMessage))
        case CURLE_UNSUPPORTED_PROTOCOL, CURLE_URL_MALFORMAT, CURLE_NOT_BUILT_IN, CURLE_BAD_FUNCTION_ARGUMENT, CURLE_UNKNOWN_OPTION:
            return DeliveryError(kind: .permanent, code: "smtp_config", message: message(curlMessage))
        default:
            break
        }
        // The server answered with a rejection: its reply decides.
        if (400..<600).contains(responseCode) {
            // 552 on RCPT means "too many recipients": try again later (RFC 5321 §4.5.3.1.10).
            let permanent = responseCode >= 500 && !(responseCode == 552 && curlMessage.hasPrefix("RCPT"))
            return DeliveryError(kind: permanent ? .permanent : .transient, code: "smtp_\(responseCode)", message: explanation)
        }
        if dataSent, [CURLE_OPERATION_TIMEDOUT, CURLE_GOT_NOTHING, CURLE_SEND_ERROR, CURLE_RECV_ERROR, CURLE_WEIRD_SERVER_REPLY].contains(code) {
            return DeliveryError(
                kind: .ambiguous, code: "smtp_reply_lost",
                message: message("the message was sent but the server's reply to it never arrived: \(curlMessage)"))
        }
        switch code {
        case CURLE_OPERATION_TIMEDOUT:
            return DeliveryError(kind: .transient, code: "smtp_timeout", message: message(curlMessage))
        case CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_CONNECT, CURLE_COULDNT_RESOLVE_PROXY:
            return DeliveryError(kind: .transient, code: "smtp_connect_failed", message: message(curlMessage))
        case CURLE_SSL_CONNECT_ERROR, CURLE_SSL_CIPHER:
            return DeliveryError(kind: .transient, code: "smtp_tls_failed", message: message(curlMessage), isTLSFailure: true)
        case CURLE_GOT_NOTHING, CURLE_SEND_ERROR, CURLE_RECV_ERROR:
            return DeliveryError(kind: .transient, code: "smtp_connection_lost", message: message(curlMessage))
        default:
            return DeliveryError(
                kind: dataSent ? .ambiguous : .transient, code: "smtp_error",
                message: message("libcurl error \(code.rawValue): \(replyText.map { "\($0); " } ?? "")\(curlMessage)"))
        }
    }

    /// One line of printable text, at most 300 characters, with the recipient and any other
    /// address masked and the password removed.
    static func sanitized(_ text: String, recipient: String, password: String?) -> String {
        var text = String(text.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? " " : Character($0) })
        if let password, !password.isEmpty { text = text.replacingOccurrences(of: password, with: "***") }
        text = text.replacingOccurrences(of: recipient, with: MIMEMessage.maskedEmail(recipient), options: .caseInsensitive)
        text = text.replacing(/[^\s<>"'()\[\],;:]+@[A-Za-z0-9.\-]+/) { match in
            let found = String(match.output)
            return found.contains("***@") ? found : MIMEMessage.maskedEmail(found)
        }
        return text.count > 300 ? String(text.prefix(297)) + "..." : text
    }

    /// The queue id in a `250 2.0.0 Ok: queued as ABC123` reply, when there is one.
    static func queueID(in reply: String) -> String? {
        guard let range = reply.range(of: "queued as ", options: .caseInsensitive) else { return nil }
        let id = reply[range.upperBound...].prefix { !$0.isWhitespace && $0 != ">" && $0 != ")" }
        return id.isEmpty ? nil : String(id.prefix(128))
    }
}

/// One SMTP reply: its code and text (the lines of a multi-line reply joined by spaces).
struct SMTPReply: Equatable {
    var code: Int
    var text: String
}

/// The replies of one transaction, from the reply lines libcurl passed to the header callback;
/// each line's text is trimmed of whitespace (a stray CR too).
struct SMTPReplies {
    private(set) var replies: [SMTPReply] = []

    init(lines: [String]) {
        var pending: [String] = []
        for line in lines {
            let bytes = Array(line.utf8)
            guard bytes.count >= 3, bytes[0..<3].allSatisfy({ (0x30...0x39).contains($0) }), let code = Int(String(line.prefix(3)))
            else { continue }
            // Not Foundation's `trimmingCharacters(in:)`: it goes through NSString, on every reply line.
            let text = line.dropFirst(4).trimmingWhitespace()
            pending.append(text)
            if bytes.count == 3 || bytes[3] != UInt8(ascii: "-") {
                replies.append(SMTPReply(code: code, text: pending.filter { !$0.isEmpty }.joined(separator: " ")))
                pending.removeAll()
            }
        }
    }

    /// The last complete reply.
    var last: SMTPReply? { replies.last }
}

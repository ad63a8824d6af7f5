import ContactVerifyCore
import Foundation

/// One SMS provider's HTTP dialect: how a message becomes a request, and what an answer means.
///
/// Both functions are pure, so every adapter is unit-tested without a network; ``SMSTransport``
/// does the sending. An adapter never puts a credential or the SMS text into a
/// ``DeliveryError`` it creates on its own; provider-supplied error texts are scrubbed by the
/// transport (see ``SMSTransport``), which also knows the recipient and the text.
///
/// ```swift
/// let gateway = try SMSGatewayConfiguration(provider: .kannel, url: "http://kannel:13013/cgi-bin/sendsms",
///                                           username: "cv", password: "secret").makeGateway()
/// let transport = SMSTransport(gateway: gateway!, client: CurlHTTPClient())
/// ```
public protocol SMSGateway: Sendable {
    /// A short provider name for receipts and messages (`kannel`, `twilio`, …).
    var name: String { get }

    /// Values that must never appear in an error message or a receipt: passwords, tokens,
    /// API secrets and secret header values. The transport scrubs them from provider texts.
    var secretValues: [String] { get }

    /// The HTTP request that submits `message`.
    ///
    /// - Throws: a permanent ``DeliveryError`` when this provider can never send the message
    ///   as it is (no text, a link message on a provider that only takes codes, …).
    func request(for message: OutboundMessage) throws(DeliveryError) -> OutboundHTTPRequest

    /// What the provider's answer means: a receipt, or a classified failure.
    ///
    /// `Retry-After` and HTTP 429 are applied on top of this by ``SMSTransport``; an adapter
    /// only sets ``DeliveryError/retryAfter`` for provider-specific minimum waits.
    func interpret(_ response: InboundHTTPResponse) -> Result<DeliveryReceipt, DeliveryError>
}

// MARK: - Transport

/// Sends SMS through one ``SMSGateway`` over an ``HTTPClient``.
///
/// - The gateway builds the request; the client sends it (the client caps the response size).
/// - Client failures are classified: `notSent` → transient (`http_not_sent`), `ambiguous` →
///   ambiguous (`http_ambiguous`), `invalidRequest` → permanent (`http_invalid_request`: the
///   configured URL can never work) and `responseTooLarge` → **ambiguous**
///   (`http_response_too_large`): the server received and processed the request but its answer
///   could not be read, so the message may have been accepted; a retry may duplicate it.
/// - The gateway interprets the response. Then HTTP 429 is always transient, and a
///   `Retry-After` header (delta-seconds or an HTTP date) on a non-permanent failure sets
///   ``DeliveryError/retryAfter`` (the larger of the header and the gateway's own minimum).
/// - Error messages and receipt details are scrubbed: the gateway's secret values, the
///   recipient (also without `+`, and any trailing run of 7+ of its digits, so a number echoed
///   without its country code goes too), the SMS text, its code and its link become
///   `[redacted]`; control characters are removed and the text is cut to 240 characters. Codes
///   are restricted to `A–Z a–z 0–9 . _ -`. Provider message ids are kept as they are.
///
/// The transport does not retry; the outbox worker does, with backoff.
public struct SMSTransport: MessageTransport {
    /// The provider named in metrics.
    public var providerName: String { gateway.name }

    /// The provider adapter.
    public let gateway: any SMSGateway
    /// The HTTP client that sends the adapter's requests.
    public let client: any HTTPClient
    /// The clock for `Retry-After` dates.
    private let now: @Sendable () -> Date

    /// Creates a transport; `now` is only for tests of `Retry-After` dates.
    public init(gateway: any SMSGateway, client: any HTTPClient, now: @escaping @Sendable () -> Date = { Date() }) {
        self.gateway = gateway
        self.client = client
        self.now = now
    }

    /// Submits one SMS and returns the provider's receipt.
    ///
    /// - Throws: a classified ``DeliveryError`` (see the type's documentation).
    public func deliver(_ message: OutboundMessage) async throws(DeliveryError) -> DeliveryReceipt {
        let sensitive = Self.sensitiveValues(of: message, gateway: gateway)
        guard message.channel == .sms else {
            throw DeliveryError(kind: .permanent, code: "invalid_channel", message: "the SMS transport only sends SMS messages")
        }
        guard message.smsText?.isEmpty == false else {
            throw DeliveryError(kind: .permanent, code: "missing_content", message: "SMS message without text")
        }
        let request: OutboundHTTPRequest
        do {
            request = try gateway.request(for: message)
        } catch {
            throw Self.scrubbed(error, removing: sensitive)
        }
        let response: InboundHTTPResponse
        do {
            response = try await client.send(request)
        } catch {
            throw Self.scrubbed(Self.classify(error, provider: gateway.name), removing: sensitive)
        }
        switch Self.outcome(of: response, gateway: gateway, now: now()) {
        case .success(let receipt):
            // The provider id is an opaque key for delivery reports: kept as it is.
            return DeliveryReceipt(
                providerMessageID: receipt.providerMessageID, detail: receipt.detail.map { Self.scrub($0, removing: sensitive) })
        case .failure(let error):
            throw Self.scrubbed(error, removing: sensitive)
        }
    }

    /// The delivery error for a client failure.
    static func classify(_ error: HTTPClientError, provider: String) -> DeliveryError {
        switch error.kind {
        case .notSent:
            DeliveryError(kind: .transient, code: "http_not_sent", message: "\(provider) could not be reached: \(error.message)")
        case .ambiguous:
            DeliveryError(
                kind: .ambiguous, code: "http_ambiguous",
                message: "the exchange with \(provider) failed after the request was sent: \(error.message)")
        case .responseTooLarge:
            DeliveryError(
                kind: .ambiguous, code: "http_response_too_large",
                message: "\(provider) answered with a response larger than the limit; the message may have been accepted")
        case .invalidRequest:
            DeliveryError(kind: .permanent, code: "http_invalid_request", message: "the \(provider) request is invalid: \(error.message)")
        case .blockedTarget:
            DeliveryError(kind: .permanent, code: "http_blocked_target", message: "\(provider) is at an address this service may not reach")
        }
    }

    /// The gateway's interpretation with the transport-wide rules applied: 429 is transient,
    /// and `Retry-After` sets the earliest retry of a non-permanent failure (on a `429`/`503`,
    /// of every message: the provider is paused).
    static func outcome(
        of response: InboundHTTPResponse, gateway: any SMSGateway, now: Date
    ) -> Result<DeliveryReceipt, DeliveryError> {
        let result = gateway.interpret(response)
        guard case .failure(var error) = result else { return result }
        if response.status == 429 { error.kind = .transient }
        if error.kind != .permanent, let header = response.header("Retry-After"),
            let wait = RetryAfter.parse(header, now: now)
        {
            error.retryAfter = max(error.retryAfter ?? .zero, wait)
            error.pausesProvider = response.status == 429 || response.status == 503
        }
        return .failure(error)
    }

    // MARK: Scrubbing

    /// What must not appear in an error: credentials, the recipient, the text, code and link.
    static func sensitiveValues(of message: OutboundMessage, gateway: any SMSGateway) -> [String] {
        var values = gateway.secretValues
        values.append(message.to)
        // Providers echo the number in their own form (without `+`, without the country
        // code): every trailing run of 7 or more of its digits goes too.
        let digits = Array(message.to.hasPrefix("+") ? String(message.to.dropFirst()) : message.to)
        if digits.count >= 7 {
            for length in 7...digits.count { values.append(String(digits.suffix(length))) }
        }
        if let text = message.smsText {
            values.append(text)
            if let code = SMSContent.code(in: text) { values.append(code) }
            if let link = SMSContent.link(in: text) { values.append(link) }
        }
        return values
    }

    static func scrubbed(_ error: DeliveryError, removing values: [String]) -> DeliveryError {
        var error = error
        error.code = safeCode(error.code)
        error.message = scrub(error.message, removing: values)
        return error
    }

    /// Replaces every sensitive value (longest first) and control character, and shortens.
    ///
    /// Runs for every accepted SMS (its reply is kept as the receipt's detail), so the common
    /// case is cheap: each value is looked for as UTF-8 bytes before Foundation replaces it (a
    /// literal match is also a byte match), its percent-encoded form only when the text has a
    /// `%`, and a short line of printable ASCII needs no cleaning.
    static func scrub(_ text: String, removing values: [String]) -> String {
        var result = text
        var bytes = Array(result.utf8)
        let mayHoldEncoded = bytes.contains(UInt8(ascii: "%"))
        // (Shorter values would mangle ordinary words; credentials are never that short.)
        for value in Set(values).filter({ $0.count >= 3 }).sorted(by: { $0.utf8.count > $1.utf8.count }) {
            // Providers often echo values percent-encoded.
            let encoded = mayHoldEncoded ? FormEncoding.percentEncode(value) : value
            for form in encoded == value ? [value] : [value, encoded] where holds(bytes, Array(form.utf8)) {
                result = result.replacingOccurrences(of: form, with: "[redacted]")
                bytes = Array(result.utf8)
            }
        }
        if bytes.count <= 240, bytes.first != 0x20, bytes.last != 0x20, bytes.allSatisfy({ (0x20...0x7E).contains($0) }) {
            return result  // nothing to clean, trim or shorten
        }
        let cleaned = String(
            String.UnicodeScalarView(
                result.unicodeScalars.map { scalar in
                    scalar.properties.generalCategory == .control || scalar.properties.generalCategory == .format
                        || scalar == "\u{2028}" || scalar == "\u{2029}" ? " " : scalar
                }))
        let trimmed = cleaned.trimmingWhitespace()
        return trimmed.count > 240 ? String(trimmed.prefix(239)) + "…" : trimmed
    }

    /// Whether `haystack` holds `needle` as a run of bytes.
    static func holds(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        start(of: needle, in: haystack) != nil
    }

    /// Where `needle` first starts in `haystack` as a run of elements (0 for an empty one).
    static func start<Element: Equatable>(of needle: [Element], in haystack: [Element]) -> Int? {
        guard let first = needle.first else { return 0 }
        guard needle.count <= haystack.count else { return nil }
        for start in 0...(haystack.count - needle.count)
        where haystack[start] == first && haystack[start..<start + needle.count].elementsEqual(needle) {
            return start
        }
        return nil
    }

    /// A machine code limited to `A–Z a–z 0–9 . _ -` and 64 characters.
    static func safeCode(_ code: String) -> String {
        let kept = code.unicodeScalars.map { scalar -> Character in
            scalar.isASCII && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) || ".-_".unicodeScalars.contains(scalar))
                ? Character(scalar) : "_"
        }
        let result = String(kept.prefix(64))
        return result.isEmpty ? "unknown" : result
    }
}

// MARK: - Retry-After

/// `Retry-After` (RFC 9110 §10.2.3): delta-seconds or an HTTP date.
enum RetryAfter {
    /// The longest wait honoured; a provider asking for more gets this.
    static let maximum: Duration = .seconds(86_400)

    /// The wait the header asks for (zero for a date in the past), or `nil` when unreadable.
    static func parse(_ value: String, now: Date) -> Duration? {
        let text = value.trimmingCharacters(in: .whitespaces)
        guard !text.isEmpty else { return nil }
        if text.utf8.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }) {
            guard text.utf8.count <= 9, let seconds = Int64(text) else { return maximum }
            return min(.seconds(seconds), maximum)
        }
        guard let date = httpDate(text) else { return nil }
        let seconds = date.timeIntervalSince(now)
        guard seconds > 0 else { return .zero }
        return min(.seconds(Int64(seconds.rounded(.up))), maximum)
    }

    /// IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`) and the two obsolete forms RFC 9110
    /// requires recipients to accept (RFC 850 and asctime).
    static func httpDate(_ text: String) -> Date? {
        for format in ["EEE, dd MMM yyyy HH:mm:ss 'GMT'", "EEEE, dd-MMM-yy HH:mm:ss 'GMT'", "EEE MMM d HH:mm:ss yyyy"] {
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: "en_US_POSIX")
            formatter.timeZone = TimeZone(secondsFromGMT: 0)
            formatter.dateFormat = format
            if let date = formatter.date(from: text.replacingOccurrences(of: "  ", with: " ")) { return date }
        }
        return nil
    }
}

// MARK: - Encoding helpers

/// Percent-encoding for query strings and `application/x-www-form-urlencoded` bodies.
enum FormEncoding {
    /// RFC 3986 percent-encoding of UTF-8: only `A–Z a–z 0–9 - _ . ~` are kept; a space is
    /// `%20`, `*` is `%2A`, `+` is `%2B` (upper-case hex). Every provider decodes this form,
    /// and it is exactly Alibaba Cloud's `percentEncode`.
    static func percentEncode(_ value: String) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(value.utf8.count * 3)
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
                bytes.append(byte)
            default:
                bytes.append(UInt8(ascii: "%"))
                bytes.append(hex[Int(byte >> 4)])
                bytes.append(hex[Int(byte & 0x0F)])
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// `k1=v1&k2=v2`, both sides percent-encoded, in the given order.
    static func encode(_ fields: [(String, String)]) -> String {
        fields.map { percentEncode($0.0) + "=" + percentEncode($0.1) }.joined(separator: "&")
    }

    /// `url` with the fields appended as its query (after `&` when it already has one).
    static func url(_ url: String, adding fields: [(String, String)]) -> String {
        guard !fields.isEmpty else { return url }
        let separator = url.utf8.contains(UInt8(ascii: "?")) ? (url.hasSuffix("?") || url.hasSuffix("&") ? "" : "&") : "?"
        return url + separator + encode(fields)
    }

    /// The `Content-Type` of form bodies.
    static let contentType = "application/x-www-form-urlencoded"
}

/// A JSON response body read with the strict parser; `nil` unless it is a JSON object.
enum JSONResponse {
    static func object(_ body: [UInt8]) -> JSONObject? {
        guard let value = try? JSONParser.parse(body), case .object(let object) = value else { return nil }
        return object
    }

    /// A string member, or a number member's literal text.
    static func string(_ object: JSONObject?, _ key: String) -> String? {
        switch object?[key] {
        case .string(let text): text
        case .number(let text): text
        default: nil
        }
    }

    /// A JSON string literal of `value` (quotes included).
    static func quoted(_ value: String) -> String { FileTransport.jsonString(value) }
}

// MARK: - Message content

/// Reads the code or the link out of a rendered SMS, for providers that cannot send free text
/// (Alibaba Cloud sends only approved templates with variables) and for scrubbing.
enum SMSContent {
    /// The first `http://` or `https://` URL in the text, without trailing punctuation.
    static func link(in text: String) -> String? {
        let scalars = Array(text.unicodeScalars)
        for prefix in ["https://", "http://"] {
            // Not `range(of:)`: it goes through NSString, and every SMS sent asks.
            guard let start = SMSTransport.start(of: Array(prefix.unicodeScalars), in: scalars) else { continue }
            var end = start
            while end < scalars.count, scalars[end].isASCII, scalars[end].value > 0x20, scalars[end].value != 0x7F,
                !"<>\"'`".unicodeScalars.contains(scalars[end])
            {
                end += 1
            }
            while end > start, ".,;:!?)]}".unicodeScalars.contains(scalars[end - 1]) { end -= 1 }
            let link = String(String.UnicodeScalarView(scalars[start..<end]))
            return link.count > prefix.count ? link : nil
        }
        return nil
    }

    /// The verification code: the first run of 4–10 ASCII digits, ignoring a leading
    /// `[…]` or `【…】` prefix (the shipped templates put the account name there, and an
    /// account name may contain digits). `nil` when there is none.
    static func code(in text: String) -> String? {
        var scalars = Array(text.unicodeScalars)[...]
        if let first = scalars.first, first == "[" || first == "【" {
            let close: Unicode.Scalar = first == "[" ? "]" : "】"
            if let end = scalars.firstIndex(of: close) { scalars = scalars[(end + 1)...] }
        }
        var run = ""
        for scalar in scalars {
            if ("0"..."9").contains(scalar) {
                run.unicodeScalars.append(scalar)
            } else {
                if (4...10).contains(run.count) { return run }
                run = ""
            }
        }
        return (4...10).contains(run.count) ? run : nil
    }
}

/// The GSM 03.38 default alphabet and its extension table: text outside it must be sent as
/// UCS-2 (Kannel `coding=2`, Vonage `type=unicode`).
enum GSM7 {
    private static let characters: Set<Unicode.Scalar> = {
        let basic =
            "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
            + "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
        let extension_ = "\u{0C}^{}\\[~]|€"
        return Set((basic + extension_).unicodeScalars)
    }()

    /// Whether every character of `text` has a GSM 7-bit encoding.
    static func canEncode(_ text: String) -> Bool {
        text.unicodeScalars.allSatisfy { characters.contains($0) }
    }
}

import ContactVerifyCore

/// One rendered message the outbox worker hands to a transport.
public struct OutboundMessage: Sendable {
    /// The outbox message id (`msg_…`); transports use it as a dedupe or idempotency key.
    public var id: String
    /// Email or SMS.
    public var channel: VerificationChannel
    /// The normalized destination: an email address, or an E.164 number.
    public var to: String
    /// The rendered email, for the email channel.
    public var email: RenderedEmail?
    /// The rendered SMS text, for the SMS channel.
    public var smsText: String?
    /// Where the gateway may report delivery of this message (an unguessable per-message URL
    /// under the public URL); gateways append their own query parameters. `nil` when reports
    /// are not wanted.
    public var deliveryReportURL: String?
    /// How long the message is worth delivering: its secret's remaining lifetime when it was
    /// rendered. A gateway that can hand a validity period to the network does (Kannel's
    /// `validity`), so a queue downstream does not deliver a code after it expired (F25).
    public var timeToLive: Duration?

    /// Creates an outbound message.
    public init(
        id: String, channel: VerificationChannel, to: String, email: RenderedEmail? = nil, smsText: String? = nil,
        deliveryReportURL: String? = nil, timeToLive: Duration? = nil
    ) {
        self.id = id
        self.channel = channel
        self.to = to
        self.email = email
        self.smsText = smsText
        self.deliveryReportURL = deliveryReportURL
        self.timeToLive = timeToLive
    }
}

/// What a transport learned when the provider accepted a message.
public struct DeliveryReceipt: Sendable, Equatable {
    /// The provider's id for the message (SMTP queue id, gateway message id, file path…).
    public var providerMessageID: String?
    /// A short human-readable note (no secrets, no full addresses).
    public var detail: String?

    /// Creates a receipt.
    public init(providerMessageID: String? = nil, detail: String? = nil) {
        self.providerMessageID = providerMessageID
        self.detail = detail
    }
}

/// A failed delivery, classified so the worker knows whether and when to retry.
public struct DeliveryError: Error, Sendable, Equatable, CustomStringConvertible {
    /// How the worker treats the failure.
    public enum Kind: String, Sendable {
        /// Not delivered; retry with backoff (SMTP 4xx, gateway 5xx/429, a full disk…).
        case transient
        /// Never deliverable as it is; fail at once (SMTP 5xx, "invalid number", a bad header).
        case permanent
        /// May or may not have been delivered (a timeout after the data was sent); a retry
        /// may duplicate the message.
        case ambiguous
    }

    /// Transient, permanent or ambiguous.
    public var kind: Kind
    /// A stable machine code (`smtp_550`, `io_error`, `invalid_message`…).
    public var code: String
    /// A human-readable explanation; never a code, token or full address.
    public var message: String
    /// The earliest the provider accepts a retry (a `Retry-After`), if it said so.
    public var retryAfter: Duration?
    /// Set when the provider asked for no traffic at all for a while (an HTTP `429`/`503` with
    /// `Retry-After`), as opposed to a wait for this one message or recipient:
    /// ``PacedTransport`` then holds back every message for that long.
    public var pausesProvider = false
    /// Set when a secure channel could not be set up (STARTTLS not offered, a failed
    /// handshake, an untrusted certificate): the send failed closed, and the worker counts it
    /// on `delivery_tls_failures_total` for an alert (security.md F12).
    public var isTLSFailure = false

    /// Creates a delivery error.
    public init(
        kind: Kind, code: String, message: String, retryAfter: Duration? = nil, pausesProvider: Bool = false,
        isTLSFailure: Bool = false
    ) {
        self.kind = kind
        self.code = code
        self.message = message
        self.retryAfter = retryAfter
        self.pausesProvider = pausesProvider
        self.isTLSFailure = isTLSFailure
    }

    /// `kind code: message`.
    public var description: String { "\(kind.rawValue) \(code): \(message)" }
}

/// Something that delivers rendered messages: SMTP, an SMS gateway, or files.
///
/// Delivery is at-least-once: the worker may call `deliver` again with the same message id
/// after a crash or an ambiguous failure, so transports should dedupe on `message.id` where
/// the provider allows it.
public protocol MessageTransport: Sendable {
    /// Delivers one message, returning once the provider has accepted it.
    func deliver(_ message: OutboundMessage) async throws(DeliveryError) -> DeliveryReceipt

    /// The provider named in metrics (`messages_total{provider}`); `custom` by default.
    var providerName: String { get }
}

extension MessageTransport {
    /// The provider named in metrics (`messages_total{provider}`).
    public var providerName: String { "custom" }
}

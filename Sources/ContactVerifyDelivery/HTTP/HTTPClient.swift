import ContactVerifyCore

/// One outbound HTTP request to an SMS gateway or a webhook.
public struct OutboundHTTPRequest: Sendable, Equatable {
    /// `GET`, `POST`, …
    public var method: String
    /// The absolute URL, query included (already percent-encoded).
    public var url: String
    /// Header fields in order; names as they should be sent.
    public var headers: [HTTPHeader]
    /// The body bytes (empty for none).
    public var body: [UInt8]
    /// Basic-auth credentials, sent as `Authorization: Basic …` by the client.
    public var basicAuth: (user: String, password: String)?
    /// The whole exchange's time limit.
    public var timeout: Duration
    /// For URLs a customer supplied (chatbot webhooks, event callbacks): the client resolves
    /// the host, refuses the request (``HTTPClientError/Kind/blockedTarget``) unless the
    /// policy permits every address, and connects only to a checked address. `nil` for the
    /// operator's own endpoints (SMS gateways).
    public var targetPolicy: OutboundTargetPolicy?

    public init(
        method: String, url: String, headers: [HTTPHeader] = [], body: [UInt8] = [],
        basicAuth: (user: String, password: String)? = nil, timeout: Duration = .seconds(10),
        targetPolicy: OutboundTargetPolicy? = nil
    ) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.basicAuth = basicAuth
        self.timeout = timeout
        self.targetPolicy = targetPolicy
    }

    public static func == (a: Self, b: Self) -> Bool {
        a.method == b.method && a.url == b.url && a.headers == b.headers && a.body == b.body
            && a.basicAuth?.user == b.basicAuth?.user && a.basicAuth?.password == b.basicAuth?.password && a.timeout == b.timeout
            && a.targetPolicy == b.targetPolicy
    }
}

/// One header field.
public struct HTTPHeader: Sendable, Equatable {
    public var name: String
    public var value: String

    public init(_ name: String, _ value: String) {
        self.name = name
        self.value = value
    }
}

/// The answer to an ``OutboundHTTPRequest``.
public struct InboundHTTPResponse: Sendable, Equatable {
    /// The status code.
    public var status: Int
    /// Header fields in order (names as received).
    public var headers: [HTTPHeader]
    /// The body, at most the client's response limit.
    public var body: [UInt8]

    public init(status: Int, headers: [HTTPHeader] = [], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// The first header named `name` (case-insensitive).
    public func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    /// The body as UTF-8 text (invalid bytes replaced).
    public var text: String { String(decoding: body, as: UTF8.self) }
}

/// Why an HTTP exchange produced no response.
public struct HTTPClientError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        /// Nothing reached the server (DNS, refused connection, TLS handshake): safe to retry.
        case notSent
        /// The request may have reached the server (timeout or connection lost after sending):
        /// a retry may duplicate it.
        case ambiguous
        /// The response was larger than the client's limit.
        case responseTooLarge
        /// The request itself is invalid (bad URL, unsupported scheme): retrying cannot help.
        case invalidRequest
        /// The host resolves to an address the request's ``OutboundHTTPRequest/targetPolicy``
        /// forbids (or does not resolve); nothing was sent.
        case blockedTarget
    }

    public var kind: Kind
    /// A short description (libcurl's error text, for example); never contains credentials.
    public var message: String
    /// Whether the request's time limit ran out (then `kind` is `notSent` or `ambiguous`).
    public var timedOut: Bool

    public init(kind: Kind, message: String, timedOut: Bool = false) {
        self.kind = kind
        self.message = message
        self.timedOut = timedOut
    }

    public var description: String { "\(kind.rawValue): \(message)" }
}

/// Sends HTTP requests. The libcurl implementation runs every transfer off the event loops and
/// the Swift concurrency pool; tests may use it against local stub servers.
public protocol HTTPClient: Sendable {
    func send(_ request: OutboundHTTPRequest) async throws(HTTPClientError) -> InboundHTTPResponse
}

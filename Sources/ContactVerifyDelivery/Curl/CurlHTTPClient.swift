import CCurl
import Foundation

/// The libcurl implementation of ``HTTPClient``, for SMS gateways and webhooks.
///
/// Transfers run on a few dedicated threads (``CurlWorkers``), each keeping its connections
/// alive between requests. The client never follows redirects (a 3xx is returned as the
/// response), speaks only `http` and `https`, sends basic auth when asked, verifies TLS
/// certificates against the system store (or ``Configuration/caFile``) and keeps at most
/// ``Configuration/maxResponseBytes`` of a response.
///
/// Failures are classified for the retry logic of the adapters: nothing reached the server
/// (DNS, refused connection, TLS handshake, a connect timeout) → ``HTTPClientError/Kind/notSent``;
/// the request may have reached it (a timeout, an empty reply or a lost connection once the
/// request was on its way) → ``HTTPClientError/Kind/ambiguous``. A request with a
/// ``OutboundHTTPRequest/targetPolicy`` connects only to addresses the policy permits
/// (``CurlTargetPin``), else fails with ``HTTPClientError/Kind/blockedTarget``.
///
/// ```swift
/// let client = CurlHTTPClient()
/// let response = try await client.send(OutboundHTTPRequest(method: "GET", url: "https://example.com/status"))
/// ```
public final class CurlHTTPClient: HTTPClient {
    /// How the client connects and what it accepts.
    public struct Configuration: Sendable {
        /// Transfers that run at once (one thread and one connection cache each).
        public var connections = 4
        /// Transfers that may wait for a thread; beyond this `send` fails at once (`notSent`).
        public var queueLimit = 1024
        /// The largest response body accepted; a larger one is ``HTTPClientError/Kind/responseTooLarge``.
        public var maxResponseBytes = 64 * 1024
        /// The limit for establishing the connection (TLS included); never more than the
        /// request's own timeout.
        public var connectTimeout: Duration = .seconds(5)
        /// A PEM bundle of trusted CAs instead of the system store.
        public var caFile: String?
        /// The `User-Agent` sent when a request has none.
        public var userAgent = "ContactVerify"

        public init() {}
    }

    /// The settings this client was made with.
    public let configuration: Configuration
    private let workers: CurlWorkers

    /// Creates a client and starts its transfer threads.
    public init(_ configuration: Configuration = Configuration()) {
        self.configuration = configuration
        workers = CurlWorkers(name: "http", threads: max(1, configuration.connections), queueLimit: configuration.queueLimit)
    }

    /// Sends the request and returns the response, whatever its status.
    ///
    /// - Throws: ``HTTPClientError``: `invalidRequest` for a request that cannot be sent
    ///   (a scheme other than http/https, a header with a line break…), `notSent`,
    ///   `ambiguous` or `responseTooLarge` as described on the type.
    public func send(_ request: OutboundHTTPRequest) async throws(HTTPClientError) -> InboundHTTPResponse {
        try Self.validate(request)
        let configuration = self.configuration
        let result = await workers.run { easy in Self.perform(request, on: easy, configuration: configuration) }
        switch result {
        case .success(let outcome): return try outcome.get()
        case .failure(let error): throw HTTPClientError(kind: .notSent, message: error.description)
        }
    }

    // MARK: Validation

    /// `tchar` of RFC 9110: what a method or a header name may contain.
    private static let tokenCharacters = Set("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ".utf8)

    static func validate(_ request: OutboundHTTPRequest) throws(HTTPClientError) {
        func invalid(_ message: String) -> HTTPClientError { HTTPClientError(kind: .invalidRequest, message: message) }
        guard !request.method.isEmpty, request.method.utf8.allSatisfy(tokenCharacters.contains) else {
            throw invalid("the method is not an HTTP token")
        }
        let lowered = request.url.lowercased()
        guard lowered.hasPrefix("http://") || lowered.hasPrefix("https://") else {
            throw invalid("only http:// and https:// URLs are supported")
        }
        guard request.url.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw invalid("the URL contains spaces, control or non-ASCII characters")
        }
        for header in request.headers {
            guard !header.name.isEmpty, header.name.utf8.allSatisfy(tokenCharacters.contains) else {
                throw invalid("a header name is not an HTTP token")
            }
            guard header.value.utf8.allSatisfy({ $0 == 0x09 || ($0 >= 0x20 && $0 != 0x7F) }) else {
                throw invalid("the \(header.name) header contains a control or line-break character")
            }
        }
        if let auth = request.basicAuth {
            guard !auth.user.contains(":"), (auth.user + auth.password).utf8.allSatisfy({ $0 >= 0x20 && $0 != 0x7F }) else {
                throw invalid("basic-auth credentials contain a colon in the user name or a control character")
            }
        }
        let method = request.method.uppercased()
        if (method == "GET" || method == "HEAD") && !request.body.isEmpty {
            throw invalid("a \(method) request cannot carry a body")
        }
        guard request.timeout > .zero else { throw invalid("the timeout must be positive") }
    }

    // MARK: Transfer (on a worker thread)

    private static func perform(
        _ request: OutboundHTTPRequest, on easy: CurlEasy, configuration: Configuration
    ) -> Result<InboundHTTPResponse, HTTPClientError> {
        let transfer = CurlTransfer(upload: request.body, responseLimit: configuration.maxResponseBytes)
        var pin: String?
        if let policy = request.targetPolicy {
            switch CurlTargetPin.pin(request.url, policy: policy) {
            case .success(let entry): pin = entry
            case .failure(let error): return .failure(error)
            }
        }
        easy.reset()
        do throws(CurlSetupError) {
            try configure(easy, for: request, configuration: configuration)
            if request.targetPolicy != nil {
                // Straight to the checked address: no proxy from the environment, and the
                // name resolves to what was checked.
                try easy.set(CURLOPT_PROXY, "")
                if let pin { try easy.set(CURLOPT_RESOLVE, list: [pin]) }
            }
        } catch {
            return .failure(HTTPClientError(kind: .invalidRequest, message: error.description))
        }
        let code = easy.perform(transfer)
        if code == CURLE_OK {
            return .success(InboundHTTPResponse(status: easy.responseCode, headers: headers(transfer.headerLines), body: transfer.body))
        }
        let message = scrubbed(easy.errorMessage(code), password: request.basicAuth?.password)
        return .failure(
            HTTPClientError(kind: kind(of: code, transfer: transfer), message: message, timedOut: code == CURLE_OPERATION_TIMEDOUT))
    }

    private static func configure(_ easy: CurlEasy, for request: OutboundHTTPRequest, configuration: Configuration) throws(CurlSetupError) {
        try easy.set(CURLOPT_URL, request.url)
        try easy.set(CURLOPT_PROTOCOLS_STR, "http,https")
        try easy.set(CURLOPT_FOLLOWLOCATION, 0)
        let timeout = milliseconds(request.timeout)
        try easy.set(CURLOPT_TIMEOUT_MS, timeout)
        try easy.set(CURLOPT_CONNECTTIMEOUT_MS, min(timeout, milliseconds(configuration.connectTimeout)))
        try easy.set(CURLOPT_MAXFILESIZE_LARGE, offset: Int64(configuration.maxResponseBytes))
        if let caFile = configuration.caFile { try easy.set(CURLOPT_CAINFO, caFile) }
        if let auth = request.basicAuth {
            try easy.set(CURLOPT_HTTPAUTH, cv_CURLAUTH_BASIC)
            try easy.set(CURLOPT_USERNAME, auth.user)
            try easy.set(CURLOPT_PASSWORD, auth.password)
        }

        let method = request.method.uppercased()
        var headers: [String] = []
        // No `Expect: 100-continue` round trip; no form content type the caller did not ask for.
        if !request.headers.contains(where: { $0.name.lowercased() == "expect" }) { headers.append("Expect:") }
        switch method {
        case "GET":
            try easy.set(CURLOPT_HTTPGET, 1)
        case "HEAD":
            try easy.set(CURLOPT_NOBODY, 1)
        default:
            if method == "POST" || method == "PUT" || method == "PATCH" || !request.body.isEmpty {
                // POST mode with the body from the read callback, under the caller's method.
                try easy.set(CURLOPT_POST, 1)
                try easy.set(CURLOPT_POSTFIELDSIZE_LARGE, offset: Int64(request.body.count))
                if !request.headers.contains(where: { $0.name.lowercased() == "content-type" }) { headers.append("Content-Type:") }
            }
            if method != "POST" { try easy.set(CURLOPT_CUSTOMREQUEST, request.method) }
        }
        if !request.headers.contains(where: { $0.name.lowercased() == "user-agent" }) {
            try easy.set(CURLOPT_USERAGENT, configuration.userAgent)
        }
        // libcurl sends `Name;` as a header with an empty value (`Name:` would remove it).
        headers += request.headers.map { $0.value.isEmpty ? "\($0.name);" : "\($0.name): \($0.value)" }
        try easy.set(CURLOPT_HTTPHEADER, list: headers)
    }

    // MARK: Results

    /// The HTTP failure class of a libcurl result.
    static func kind(of code: CURLcode, transfer: CurlTransfer) -> HTTPClientError.Kind {
        if transfer.responseTooLarge || code == CURLE_FILESIZE_EXCEEDED { return .responseTooLarge }
        switch code {
        case CURLE_UNSUPPORTED_PROTOCOL, CURLE_URL_MALFORMAT, CURLE_NOT_BUILT_IN, CURLE_BAD_FUNCTION_ARGUMENT,
            CURLE_UNKNOWN_OPTION:
            return .invalidRequest
        case CURLE_COULDNT_RESOLVE_PROXY, CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_CONNECT, CURLE_SSL_CONNECT_ERROR,
            CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CERTPROBLEM, CURLE_SSL_CIPHER, CURLE_SSL_CACERT_BADFILE,
            CURLE_SSL_ENGINE_NOTFOUND, CURLE_SSL_ENGINE_SETFAILED, CURLE_SSL_ISSUER_ERROR, CURLE_SSL_PINNEDPUBKEYNOTMATCH,
            CURLE_SSL_INVALIDCERTSTATUS, CURLE_SSL_CRL_BADFILE, CURLE_OUT_OF_MEMORY:
            return .notSent
        default:
            // A timeout, an empty reply (52), a send (55) or receive (56) error, a cut-off
            // body…: ambiguous once the request was on its way, else nothing was sent.
            return transfer.requestStarted ? .ambiguous : .notSent
        }
    }

    /// `Name: value` lines into header fields (a folded line continues the previous one).
    static func headers(_ lines: [String]) -> [HTTPHeader] {
        var result: [HTTPHeader] = []
        for line in lines.dropFirst() where !line.isEmpty {  // the first line is the status line
            if line.first == " " || line.first == "\t", !result.isEmpty {
                result[result.count - 1].value += " " + line.trimmingWhitespace()
            } else if let colon = line.firstIndex(of: ":") {
                result.append(HTTPHeader(String(line[..<colon]), line[line.index(after: colon)...].trimmingWhitespace()))
            }
        }
        return result
    }

    static func milliseconds(_ duration: Duration) -> Int {
        let (seconds, attoseconds) = duration.components
        return max(1, Int(seconds) * 1000 + Int(attoseconds / 1_000_000_000_000_000))
    }

    /// `text` without the password (libcurl's messages should not hold it; this makes sure).
    static func scrubbed(_ text: String, password: String?) -> String {
        guard let password, !password.isEmpty else { return text }
        return text.replacingOccurrences(of: password, with: "***")
    }
}

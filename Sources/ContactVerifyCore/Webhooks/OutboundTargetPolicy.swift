import Foundation

/// Where chatbot webhooks and account callbacks may send requests (security.md, SSRF).
///
/// By default only `https` URLs whose host is a public address: loopback, private,
/// link-local, unspecified, multicast and reserved addresses are refused, IPv4 and IPv6
/// alike (IPv4-mapped forms included). The operator's `--allow-private-webhook-targets`
/// opens loopback and private networks and plain `http` (tests, on-premises chat servers);
/// link-local (cloud metadata), unspecified, multicast and reserved addresses stay closed.
///
/// URLs are checked twice: when they are saved (``check(url:)``: syntax, scheme, literal
/// addresses, `localhost`) and when a request is sent (the HTTP client resolves the name,
/// applies ``permits(_:)`` to every address and connects only to a checked one, so a DNS
/// answer that changes in between cannot redirect the request).
public struct OutboundTargetPolicy: Sendable, Equatable {
    /// Whether loopback and private networks, and plain `http`, are allowed.
    public var allowPrivateTargets: Bool

    public init(allowPrivateTargets: Bool = false) {
        self.allowPrivateTargets = allowPrivateTargets
    }

    /// The longest URL accepted.
    public static let maxURLLength = 2048

    /// Why a URL is refused: a stable `code` and a sentence that never repeats the URL.
    public struct Refusal: Error, Sendable, Equatable {
        public var code: String
        public var message: String
    }

    /// Whether a request may connect to `address`.
    public func permits(_ address: NetworkAddress) -> Bool {
        switch address.addressClass {
        case .global: true
        case .loopback, .privateNetwork: allowPrivateTargets
        case .linkLocal, .unspecified, .multicast, .reserved: false
        }
    }

    /// The parts of a URL the guard needs, or why it is unacceptable.
    public func check(url: String) -> Result<TargetURL, Refusal> {
        func refuse(_ code: String, _ message: String) -> Result<TargetURL, Refusal> { .failure(Refusal(code: code, message: message)) }
        guard url.utf8.count <= Self.maxURLLength else { return refuse("too_long", "The URL is longer than \(Self.maxURLLength) bytes.") }
        guard url.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "\\") }) else {
            return refuse("invalid_url", "The URL must be ASCII without spaces or backslashes (percent-encode the rest).")
        }
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(),
            let rawHost = components.percentEncodedHost, !rawHost.isEmpty
        else { return refuse("invalid_url", "The URL must be absolute, such as https://example.com/hook.") }
        guard scheme == "https" || scheme == "http" else { return refuse("invalid_scheme", "The URL must use https.") }
        if scheme == "http" && !allowPrivateTargets {
            return refuse("insecure_scheme", "The URL must use https; plain http is only allowed where the operator allows private targets.")
        }
        guard components.percentEncodedUser == nil, components.percentEncodedPassword == nil else {
            return refuse("credentials_in_url", "The URL must not contain a user name or password before the host.")
        }
        guard components.fragment == nil else { return refuse("invalid_url", "The URL must not have a #fragment.") }
        let host = rawHost.lowercased()
        guard !host.contains("%") else { return refuse("invalid_url", "The host must not be percent-encoded.") }
        if let port = components.port, !(1...65535).contains(port) { return refuse("invalid_url", "The port must be 1–65535.") }
        let target = TargetURL(scheme: scheme, host: host, port: components.port)
        if let address = NetworkAddress(numericHost: host) {
            guard permits(address) else {
                return refuse("private_target", "The URL points at a \(address.addressClass.rawValue.replacingOccurrences(of: "_", with: "-")) address, which webhooks may not reach.")
            }
        } else {
            let name = host.hasSuffix(".") ? String(host.dropLast()) : host
            guard name.contains("."), !name.hasPrefix("."), !name.contains("..") else {
                if !allowPrivateTargets || name.isEmpty {
                    return refuse("private_target", "The host must be a fully qualified public name or address.")
                }
                return .success(target)
            }
            if !allowPrivateTargets && (name.hasSuffix(".localhost") || name.hasSuffix(".local") || name.hasSuffix(".internal")) {
                return refuse("private_target", "The host is a local name, which webhooks may not reach.")
            }
        }
        return .success(target)
    }
}

/// The scheme, host and port of a checked URL.
public struct TargetURL: Sendable, Equatable {
    /// `https` or `http`, lower case.
    public var scheme: String
    /// Lower-cased host; an IPv6 literal keeps its brackets.
    public var host: String
    /// The explicit port, if the URL has one.
    public var port: Int?

    /// `scheme://host[:port]/…`: what the API shows of a URL that is a credential (the path
    /// and query of a chatbot webhook hold its token).
    public var masked: String {
        "\(scheme)://\(host)\(port.map { ":\($0)" } ?? "")/…"
    }
}

import CCurl
import ContactVerifyCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The send-time half of the outbound-target guard (``OutboundTargetPolicy``): finds the
/// host and port exactly as libcurl will (its own URL parser), resolves the host, refuses
/// the request unless the policy permits every address, and returns the `CURLOPT_RESOLVE`
/// entry that makes libcurl connect to those checked addresses and nothing else. A DNS
/// answer that changes between the check and the connection (rebinding) cannot redirect
/// the request. Runs on a transfer thread (`getaddrinfo` blocks).
enum CurlTargetPin {
    /// The `host:port:address[,address…]` entry for the URL, or `nil` when the host is an
    /// address literal (checked; nothing to pin).
    static func pin(_ url: String, policy: OutboundTargetPolicy) -> Result<String?, HTTPClientError> {
        func blocked(_ message: String) -> Result<String?, HTTPClientError> {
            .failure(HTTPClientError(kind: .blockedTarget, message: message))
        }
        guard let handle = curl_url() else { return .failure(HTTPClientError(kind: .notSent, message: "out of memory")) }
        defer { curl_url_cleanup(handle) }
        guard curl_url_set(handle, CURLUPART_URL, url, 0) == CURLUE_OK,
            let host = part(handle, CURLUPART_HOST, flags: 0), !host.isEmpty,
            let port = part(handle, CURLUPART_PORT, flags: UInt32(CURLU_DEFAULT_PORT))
        else { return .failure(HTTPClientError(kind: .invalidRequest, message: "the URL has no host")) }

        if host.hasPrefix("[") || NetworkAddress(numericHost: host) != nil {
            guard let address = NetworkAddress(numericHost: host) else { return blocked("the host is not a usable address") }
            return policy.permits(address) ? .success(nil) : blocked("the host is a \(address.addressClass.rawValue) address")
        }
        let addresses: [NetworkAddress]
        switch resolve(host, port: port) {
        case .success(let resolved): addresses = resolved
        case .failure(let error): return .failure(error)
        }
        if let forbidden = addresses.first(where: { !policy.permits($0) }) {
            return blocked("the host resolves to a \(forbidden.addressClass.rawValue) address")
        }
        let list = addresses.map { $0.isIPv6 ? "[\($0)]" : "\($0)" }.joined(separator: ",")
        return .success("\(host):\(port):\(list)")
    }

    /// Every distinct address of `host` (IPv4 and IPv6), in the resolver's order.
    private static func resolve(_ host: String, port: String) -> Result<[NetworkAddress], HTTPClientError> {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        #if canImport(Glibc)
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        #else
        hints.ai_socktype = SOCK_STREAM
        #endif
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, port, &hints, &result) == 0, let result else {
            return .failure(HTTPClientError(kind: .notSent, message: "the host name does not resolve"))
        }
        defer { freeaddrinfo(result) }
        var addresses: [NetworkAddress] = []
        var next: UnsafeMutablePointer<addrinfo>? = result
        while let info = next {
            if let address = NetworkAddress(info.pointee), !addresses.contains(address) { addresses.append(address) }
            next = info.pointee.ai_next
        }
        guard !addresses.isEmpty else { return .failure(HTTPClientError(kind: .notSent, message: "the host name has no address")) }
        return .success(addresses)
    }

    private static func part(_ handle: OpaquePointer, _ which: CURLUPart, flags: UInt32) -> String? {
        var pointer: UnsafeMutablePointer<CChar>?
        guard curl_url_get(handle, which, &pointer, flags) == CURLUE_OK, let pointer else { return nil }
        defer { curl_free(pointer) }
        return String(cString: pointer)
    }
}

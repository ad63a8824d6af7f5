#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Which kind of network an IP address belongs to, for the outbound-request guard
/// (security.md: a webhook must not become a way into the internal network).
public enum NetworkAddressClass: String, Sendable, Equatable {
    /// A public address.
    case global
    /// RFC 1918, carrier-grade NAT, benchmarking, IPv6 unique-local and site-local.
    case privateNetwork = "private"
    /// `127.0.0.0/8`, `::1`.
    case loopback
    /// `169.254.0.0/16` (cloud metadata lives here), `fe80::/10`.
    case linkLocal = "link_local"
    /// `0.0.0.0/8`, `::`.
    case unspecified
    /// `224.0.0.0/4`, `ff00::/8`.
    case multicast
    /// Documentation, reserved and broadcast ranges, Teredo: never a real webhook.
    case reserved
}

/// An IPv4 (4 bytes) or IPv6 (16 bytes) address, classified by the ranges it falls in.
/// IPv4-mapped (`::ffff:a.b.c.d`), IPv4-compatible, NAT64 (`64:ff9b::/96`) and 6to4
/// (`2002::/16`) addresses are classified by the IPv4 address they carry.
///
/// ```swift
/// NetworkAddress(numericHost: "::ffff:127.0.0.1")?.addressClass   // .loopback
/// NetworkAddress(numericHost: "2130706433")?.addressClass         // .loopback (inet_aton form)
/// ```
public struct NetworkAddress: Sendable, Equatable, CustomStringConvertible {
    /// The address in network byte order: 4 bytes for IPv4, 16 for IPv6.
    public let bytes: [UInt8]

    /// An address from its bytes; `nil` unless there are 4 or 16.
    public init?(bytes: [UInt8]) {
        guard bytes.count == 4 || bytes.count == 16 else { return nil }
        self.bytes = bytes
    }

    /// Parses a numeric host the way the C resolver does (`getaddrinfo` with
    /// `AI_NUMERICHOST`, so the legacy IPv4 forms `2130706433`, `0x7f.1` and `127.1` count
    /// too); `nil` for a name. Surrounding brackets of an IPv6 literal are accepted; a zone
    /// (`%eth0`) is not. Never touches the network.
    public init?(numericHost host: String) {
        var text = Substring(host)
        if text.hasPrefix("["), text.hasSuffix("]") { text = text.dropFirst().dropLast() }
        guard !text.isEmpty, !text.contains("%") else { return nil }
        var hints = addrinfo()
        hints.ai_flags = AI_NUMERICHOST
        hints.ai_family = AF_UNSPEC
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(String(text), nil, &hints, &result) == 0, let result else { return nil }
        defer { freeaddrinfo(result) }
        guard let address = NetworkAddress(result.pointee) else { return nil }
        self = address
    }

    /// The address of one `getaddrinfo` result (IPv4 or IPv6), if it is one.
    public init?(_ info: addrinfo) {
        guard let raw = info.ai_addr else { return nil }
        switch info.ai_family {
        case AF_INET:
            var v4 = sockaddr_in()
            withUnsafeMutableBytes(of: &v4) { $0.copyMemory(from: UnsafeRawBufferPointer(start: raw, count: $0.count)) }
            bytes = withUnsafeBytes(of: v4.sin_addr) { Array($0) }
        case AF_INET6:
            var v6 = sockaddr_in6()
            withUnsafeMutableBytes(of: &v6) { $0.copyMemory(from: UnsafeRawBufferPointer(start: raw, count: $0.count)) }
            bytes = withUnsafeBytes(of: v6.sin6_addr) { Array($0) }
        default:
            return nil
        }
    }

    /// Whether this is an IPv6 address (it may still carry an IPv4 one).
    public var isIPv6: Bool { bytes.count == 16 }

    /// The class of the address (see the type's documentation).
    public var addressClass: NetworkAddressClass {
        bytes.count == 4 ? Self.classifyIPv4(bytes) : Self.classifyIPv6(bytes)
    }

    /// The usual text form (`192.0.2.1`, `2001:db8::1`).
    public var description: String {
        var buffer = [CChar](repeating: 0, count: 64)
        let family = bytes.count == 4 ? AF_INET : AF_INET6
        let ok = bytes.withUnsafeBytes { raw in inet_ntop(family, raw.baseAddress, &buffer, socklen_t(buffer.count)) != nil }
        return ok ? String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) : "?"
    }

    // MARK: Ranges

    private static func classifyIPv4(_ b: [UInt8]) -> NetworkAddressClass {
        switch (b[0], b[1], b[2]) {
        case (0, _, _): return .unspecified
        case (127, _, _): return .loopback
        case (10, _, _), (172, 16...31, _), (192, 168, _), (100, 64...127, _), (198, 18...19, _), (192, 0, 0):
            return .privateNetwork
        case (169, 254, _): return .linkLocal
        case (224...239, _, _): return .multicast
        case (240...255, _, _), (192, 0, 2), (198, 51, 100), (203, 0, 113): return .reserved
        default: return .global
        }
    }

    private static func classifyIPv6(_ b: [UInt8]) -> NetworkAddressClass {
        let prefix12 = b[0..<12]
        if prefix12.allSatisfy({ $0 == 0 }) {
            if b[12..<15].allSatisfy({ $0 == 0 }) {
                if b[15] == 0 { return .unspecified }
                if b[15] == 1 { return .loopback }
            }
            return classifyIPv4(Array(b[12..<16]))  // IPv4-compatible (deprecated)
        }
        if b[0..<10].allSatisfy({ $0 == 0 }) && b[10] == 0xFF && b[11] == 0xFF {
            return classifyIPv4(Array(b[12..<16]))  // IPv4-mapped
        }
        if b[0..<12].elementsEqual([0x00, 0x64, 0xFF, 0x9B, 0, 0, 0, 0, 0, 0, 0, 0]) {
            return classifyIPv4(Array(b[12..<16]))  // NAT64 well-known prefix
        }
        if b[0] == 0x20 && b[1] == 0x02 {
            return classifyIPv4(Array(b[2..<6]))  // 6to4
        }
        if b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xFF && b[3] == 0x9B { return .privateNetwork }  // 64:ff9b:1::/48, local NAT64
        if b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0D && b[3] == 0xB8 { return .reserved }  // documentation
        if b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x00 && b[3] == 0x00 { return .reserved }  // Teredo
        if b[0..<8].elementsEqual([0x01, 0, 0, 0, 0, 0, 0, 0]) { return .reserved }  // discard-only 100::/64
        if b[0] & 0xFE == 0xFC { return .privateNetwork }  // fc00::/7 unique local
        if b[0] == 0xFE && b[1] & 0xC0 == 0x80 { return .linkLocal }  // fe80::/10
        if b[0] == 0xFE && b[1] & 0xC0 == 0xC0 { return .privateNetwork }  // fec0::/10 site-local
        if b[0] == 0xFF { return .multicast }
        return .global
    }
}

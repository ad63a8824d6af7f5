import Foundation
import Synchronization

/// Loopback ports for the test servers.
///
/// A server is told its port on the command line, so a port is chosen first and bound later by
/// another process. A port the kernel hands out for `bind(0)` comes from the ephemeral range,
/// where every outgoing connection on the machine also takes its local port: in the window
/// between the choice and the server's bind, one of the many connections the tests open took
/// the port and the server failed with EADDRINUSE. Ports here come from outside the ephemeral
/// range (`/proc/sys/net/ipv4/ip_local_port_range`), chosen at random, checked free, and never
/// handed out twice in one test process.
public enum FreePort {
    /// Ports handed out by this process, so two servers started at once never get the same one.
    private static let handedOut = Mutex<Set<Int>>([])

    /// Below this, well-known and registered services (PostgreSQL's 5432, Kannel's 13000s…).
    private static let lowest = 20_000

    /// One port that was free a moment ago.
    public static func one() throws -> Int { try several(1)[0] }

    /// `count` distinct ports that were free a moment ago.
    public static func several(_ count: Int) throws -> [Int] {
        let candidates = candidateRanges()
        var ports: [Int] = []
        var tries = 0
        while ports.count < count {
            tries += 1
            guard tries <= 1_000 else { throw TestServerError("no free loopback port outside the ephemeral range") }
            guard let range = candidates.randomElement(), let port = range.randomElement() else { continue }
            let taken = handedOut.withLock { !$0.insert(port).inserted }
            if taken { continue }
            // Bindable without SO_REUSEADDR, and no listener with SO_REUSEPORT (smtp-sink's) there.
            if isBindable(port) && !accepts(port) { ports.append(port) }
        }
        return ports
    }

    /// Whether something accepts TCP connections on the loopback `port`.
    public static func accepts(_ port: Int) -> Bool {
        let fd = probeSocket()
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = loopback(port)
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }

    private static func isBindable(_ port: Int) -> Bool {
        let fd = probeSocket()
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = loopback(port)
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }

    /// The ports from ``lowest`` up that are not ephemeral.
    private static func candidateRanges() -> [Range<Int>] {
        let text = (try? String(contentsOfFile: "/proc/sys/net/ipv4/ip_local_port_range", encoding: .utf8)) ?? ""
        let bounds = text.split(whereSeparator: \.isWhitespace).compactMap { Int($0) }
        let (first, last) = bounds.count == 2 ? (bounds[0], bounds[1]) : (32_768, 60_999)
        let ranges = [lowest..<max(lowest, first), max(lowest, last + 1)..<65_536].filter { $0.count >= 1_000 }
        // A machine whose whole range is ephemeral: fall back to it and rely on the checks.
        return ranges.isEmpty ? [lowest..<65_536] : ranges
    }

    /// A TCP socket for a check, closed on `exec`. Otherwise a child another test starts at
    /// that moment inherits it (`popen` passes a child every descriptor not so marked; see
    /// `PostgresServer.run`), and the probe bound to the port it checks, held open there,
    /// keeps the port from the server it was chosen for: a CI run's smtp-sink failed with
    /// EADDRINUSE on a port outside the ephemeral range that this process handed out once.
    private static func probeSocket() -> Int32 {
        socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    }

    private static func loopback(_ port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        return address
    }
}

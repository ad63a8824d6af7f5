import Crypto

extension InboundHTTPResponse {
    /// A description of a body the gateway could not read, for the error and the log
    /// (security.md F18): its content type, its length and the start of the SHA-256 of the body
    /// with every ASCII digit read as `0`.
    ///
    /// Digits are masked before hashing because a provider may echo the SMS text: a plain hash
    /// of a known template holding a 6-digit code could be reversed by trying every code. The
    /// masked hash still tells one error page from another, and an operator holding a captured
    /// body can compute it the same way (`tr '0-9' '0' | sha256sum`).
    public var unreadableBodyDescription: String {
        let type = header("Content-Type").map { String($0.prefix(60)) } ?? "no content type"
        let masked = body.map { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) ? UInt8(ascii: "0") : $0 }
        let digest = SHA256.hash(data: masked).prefix(8).map { byte in
            let hex = String(byte, radix: 16)
            return hex.count == 1 ? "0" + hex : hex
        }
        return "\(type), \(body.count) bytes, body SHA-256 \(digest.joined())… with digits as 0"
    }
}

import Crypto
import Foundation

/// Alibaba Cloud RPC signature V1 (HMAC-SHA1), as protocols.md c6 describes it.
///
/// 1. `percentEncode` is RFC 3986 over UTF-8: only `A–Z a–z 0–9 - _ . ~` are kept; a space is
///    `%20`, `*` is `%2A`, `~` stays.
/// 2. CanonicalizedQuery: every parameter except `Signature`, sorted by name (byte order),
///    as `percentEncode(name)=percentEncode(value)` joined by `&`.
/// 3. StringToSign: `METHOD&%2F&percentEncode(CanonicalizedQuery)`.
/// 4. Signature: Base64(HMAC-SHA1(key: AccessKeySecret + "&", StringToSign)), sent
///    percent-encoded like every other parameter.
///
/// ```swift
/// let signature = AliyunSignature.signature(method: "POST", parameters: parameters, accessKeySecret: secret)
/// ```
public enum AliyunSignature {
    /// Alibaba's `percentEncode`.
    public static func percentEncode(_ value: String) -> String { FormEncoding.percentEncode(value) }

    /// The sorted, encoded parameters without `Signature`.
    public static func canonicalizedQuery(_ parameters: [(String, String)]) -> String {
        parameters.filter { $0.0 != "Signature" }
            .sorted { Array($0.0.utf8).lexicographicallyPrecedes(Array($1.0.utf8)) }
            .map { percentEncode($0.0) + "=" + percentEncode($0.1) }
            .joined(separator: "&")
    }

    /// `METHOD&%2F&percentEncode(CanonicalizedQuery)`.
    public static func stringToSign(method: String, parameters: [(String, String)]) -> String {
        method.uppercased() + "&" + percentEncode("/") + "&" + percentEncode(canonicalizedQuery(parameters))
    }

    /// The Base64 `Signature` value (before percent-encoding).
    public static func signature(method: String, parameters: [(String, String)], accessKeySecret: String) -> String {
        let key = SymmetricKey(data: Array((accessKeySecret + "&").utf8))
        let mac = HMAC<Insecure.SHA1>.authenticationCode(for: Array(stringToSign(method: method, parameters: parameters).utf8), using: key)
        return Data(mac).base64EncodedString()
    }

    /// The `Timestamp` format: UTC `yyyy-MM-ddTHH:mm:ssZ` (whole seconds).
    public static func timestamp(_ date: Date) -> String {
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        func pad(_ value: Int?, _ width: Int) -> String {
            let text = String(value ?? 0)
            return text.count >= width ? text : String(repeating: "0", count: width - text.count) + text
        }
        return "\(pad(c.year, 4))-\(pad(c.month, 2))-\(pad(c.day, 2))T\(pad(c.hour, 2)):\(pad(c.minute, 2)):\(pad(c.second, 2))Z"
    }

    private static let calendar: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC") ?? TimeZone(secondsFromGMT: 0) ?? calendar.timeZone
        return calendar
    }()
}

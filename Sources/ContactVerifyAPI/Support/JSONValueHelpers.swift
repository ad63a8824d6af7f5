import ContactVerifyCore
import Foundation

extension JSONValue {
    /// A string, or `null` for `nil`.
    static func nullable(_ value: String?) -> JSONValue {
        value.map(JSONValue.string) ?? .null
    }

    /// An integer number.
    static func int(_ value: Int) -> JSONValue { .number(String(value)) }

    /// An RFC 3339 UTC timestamp with milliseconds, or `null`.
    static func date(_ value: Date?) -> JSONValue {
        guard let value else { return .null }
        return .string(Timestamp.format(value))
    }
}

import ContactVerifyCore

/// The outcome of one "Send Test": `verified` only when the provider's answer says success
/// (DingTalk/WeCom `errcode` 0, Lark `code`/`StatusCode` 0, a custom receiver's `2xx`);
/// otherwise `failed` with the provider's code and message, or ours for a failure without an
/// answer (`timeout`, `redirect`, `unreachable`, `target_not_allowed`, …).
public struct WebhookTestResult: Sendable, Equatable {
    public var verified: Bool
    /// The provider's code (`0`, `310000`, `19021`, `200`), or ours for a failure without one.
    public var providerCode: String?
    /// The provider's message, or ours. Never holds the URL or the secret.
    public var message: String

    public init(verified: Bool, providerCode: String?, message: String) {
        self.verified = verified
        self.providerCode = providerCode
        self.message = message
    }

    /// Reads a provider's answer.
    public static func reading(_ response: InboundHTTPResponse, kind: WebhookKind) -> WebhookTestResult {
        if (300..<400).contains(response.status) {
            return WebhookTestResult(
                verified: false, providerCode: "http_\(response.status)",
                message: "The webhook answered with a redirect (HTTP \(response.status)), which is not followed.")
        }
        let object: JSONObject? = if case .object(let object)? = try? JSONParser.parse(response.body) { object } else { nil }
        func code(_ key: String) -> String? {
            if case .number(let literal)? = object?[key] { literal } else { nil }
        }
        func text(_ key: String) -> String? {
            if case .string(let value)? = object?[key] { String(value.prefix(300)) } else { nil }
        }
        let answer: (code: String, message: String?)? =
            switch kind {
            case .dingtalk, .wecom: code("errcode").map { ($0, text("errmsg")) }
            case .lark: code("code").map { ($0, text("msg")) } ?? code("StatusCode").map { ($0, text("StatusMessage")) }
            case .custom: nil
            }
        if let answer {
            return WebhookTestResult(verified: answer.code == "0", providerCode: answer.code, message: answer.message ?? "")
        }
        if kind == .custom && (200..<300).contains(response.status) {
            return WebhookTestResult(verified: true, providerCode: String(response.status), message: "accepted")
        }
        return WebhookTestResult(
            verified: false, providerCode: "http_\(response.status)",
            message: kind == .custom ? "The webhook answered HTTP \(response.status)." : "The answer (HTTP \(response.status)) is not the provider's JSON.")
    }

    /// The outcome of a request that got no answer.
    public static func failure(_ error: HTTPClientError) -> WebhookTestResult {
        if error.timedOut {
            return WebhookTestResult(verified: false, providerCode: "timeout", message: "The webhook did not answer in time.")
        }
        switch error.kind {
        case .blockedTarget:
            return WebhookTestResult(
                verified: false, providerCode: "target_not_allowed", message: "The webhook's host is at an address this service may not reach.")
        case .responseTooLarge:
            return WebhookTestResult(verified: false, providerCode: "response_too_large", message: "The webhook's answer is too large.")
        case .invalidRequest:
            return WebhookTestResult(verified: false, providerCode: "invalid_request", message: "The webhook URL cannot be used.")
        case .notSent, .ambiguous:
            return WebhookTestResult(verified: false, providerCode: "unreachable", message: "The webhook could not be reached.")
        }
    }
}

/// One problem with one field of a request, as it appears in a problem+json `errors` entry.
///
/// `field` is a JSON-pointer-like dotted path (`email`, `webhooks.2.url`), `code` is a stable
/// machine-readable string (`required`, `wrong_type`, `too_long`, `invalid_email`, …) and
/// `message` is a short English sentence for people.
public struct FieldError: Error, Sendable, Equatable, Codable {
    public var field: String
    public var code: String
    public var message: String

    public init(field: String, code: String, message: String) {
        self.field = field
        self.code = code
        self.message = message
    }
}

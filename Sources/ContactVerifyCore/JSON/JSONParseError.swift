/// Why ``JSONParser`` rejected a document, and where.
///
/// Messages never quote the document: a request body may hold secrets.
public struct JSONParseError: Error, Sendable, Equatable {
    /// The class of problem.
    public enum Kind: String, Sendable, Equatable {
        /// The bytes are not RFC 8259 JSON (bad token, bad number, bad escape, unterminated value…).
        case syntax
        /// The bytes are not well-formed UTF-8 (overlong forms, encoded surrogates, truncated sequences…).
        case invalidUTF8
        /// An object names the same member twice; ``JSONParseError/path`` names the repeated key.
        case duplicateKey
        /// Arrays and objects nest deeper than the parser's `maxDepth`.
        case tooDeep
        /// A complete value is followed by something other than whitespace.
        case trailingContent
        /// The document is empty or only whitespace.
        case empty
    }

    /// The class of problem.
    public var kind: Kind
    /// A short English sentence for people; never quotes the document.
    public var message: String
    /// The byte offset in the document where the problem was found.
    public var offset: Int
    /// The dotted path of the value being parsed (`webhooks.1.url`); `""` for the root.
    public var path: String

    /// Creates an error.
    public init(kind: Kind, message: String, offset: Int, path: String) {
        self.kind = kind
        self.message = message
        self.offset = offset
        self.path = path
    }

    /// The error as a request field problem: `field` is the path (or `body` at the root) and
    /// `code` is `invalid_json`, `invalid_utf8`, `duplicate_key` or `too_deep`.
    public var fieldError: FieldError {
        let code = switch kind {
        case .syntax, .trailingContent, .empty: "invalid_json"
        case .invalidUTF8: "invalid_utf8"
        case .duplicateKey: "duplicate_key"
        case .tooDeep: "too_deep"
        }
        return FieldError(field: path.isEmpty ? "body" : path, code: code, message: message)
    }
}

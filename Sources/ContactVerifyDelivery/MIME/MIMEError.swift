/// Why a MIME message could not be built.
///
/// Nothing a user typed may add a header or a recipient, so a header value with a control
/// character is refused rather than cleaned.
public enum MIMEError: Error, Sendable, Equatable, CustomStringConvertible {
    /// An address is not a plain ASCII `local@domain` (spaces, control characters, brackets,
    /// commas, a second `@`…). `field` is the header it was meant for (`From`, `To`).
    case invalidAddress(field: String)
    /// A header value (display name, subject) contains CR, LF, NUL, another control character
    /// or a Unicode line or paragraph separator.
    case invalidHeaderValue(field: String)
    /// The Message-ID is not `left@right` in printable ASCII.
    case invalidMessageID

    /// A one-line explanation; it never includes the rejected value.
    public var description: String {
        switch self {
        case .invalidAddress(let field): "the \(field) address is not a valid plain address"
        case .invalidHeaderValue(let field): "the \(field) header contains a control or line-break character"
        case .invalidMessageID: "the Message-ID is not a valid id-left@id-right"
        }
    }
}

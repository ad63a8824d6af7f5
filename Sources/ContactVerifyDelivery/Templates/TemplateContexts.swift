import ContactVerifyCore

/// What a verification message (email or SMS) is rendered from.
///
/// Every value is plain text: the HTML templates escape it, the text, SMS and subject
/// templates use it as it is.
public struct MessageContext: Sendable {
    /// The account's display name (`Acme`), shown as the sender of the message.
    public var accountName: String
    /// The contact's name; may be empty, in which case templates greet without a name.
    public var contactName: String
    /// The verification code (method `code`).
    public var code: String?
    /// The verification link (method `link`), an absolute URL built from the public URL.
    public var link: String?
    /// Minutes until the code or link expires.
    public var expiresInMinutes: Int
    /// The destination, masked (`a***@example.com`, `+86 138****8000`).
    public var maskedAddress: String

    /// Creates a message context.
    public init(
        accountName: String, contactName: String, code: String? = nil, link: String? = nil,
        expiresInMinutes: Int, maskedAddress: String
    ) {
        self.accountName = accountName
        self.contactName = contactName
        self.code = code
        self.link = link
        self.expiresInMinutes = expiresInMinutes
        self.maskedAddress = maskedAddress
    }
}

/// What a public link page (`GET`/`POST /verify/{token}`) is rendered from.
///
/// The invalid page must look the same for every kind of bad token, so callers pass an
/// empty context for it.
public struct PageContext: Sendable {
    /// The account's display name, when the token is known.
    public var accountName: String?
    /// The masked address being verified.
    public var maskedAddress: String?
    /// Where the confirmation form posts to (a path such as `/verify/<token>`).
    public var formAction: String?
    /// The per-render anti-CSRF nonce the confirmation form carries as the `nonce` field.
    public var nonce: String?
    /// Whether the address is an email address or a phone number.
    public var channel: VerificationChannel?

    /// Creates a page context; every value is optional.
    public init(
        accountName: String? = nil, maskedAddress: String? = nil, formAction: String? = nil,
        nonce: String? = nil, channel: VerificationChannel? = nil
    ) {
        self.accountName = accountName
        self.maskedAddress = maskedAddress
        self.formAction = formAction
        self.nonce = nonce
        self.channel = channel
    }
}

/// A rendered verification email, ready for `MIMEMessage.build`.
public struct RenderedEmail: Sendable, Equatable {
    /// One line of plain text: no CR, LF or other control characters.
    public var subject: String
    /// The text/plain part.
    public var text: String
    /// The text/html part.
    public var html: String

    /// Creates a rendered email.
    public init(subject: String, text: String, html: String) {
        self.subject = subject
        self.text = text
        self.html = html
    }
}

/// The public HTML pages of link verification.
public enum LinkPage: String, Sendable, CaseIterable {
    /// `GET /verify/{token}`: the masked address and a Verify button; changes nothing.
    case confirm
    /// `POST /verify/{token}` succeeded.
    case confirmed
    /// `POST /verify/{token}` for an address that was verified already.
    case alreadyVerified = "already-verified"
    /// Any unknown, expired, used or otherwise invalid token: one generic page.
    case invalid
}

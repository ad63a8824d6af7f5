/// Why an email address or phone number was refused by ``EmailNormalizer`` or
/// ``PhoneNumberNormalizer``.
///
/// `code` is stable and part of the API contract (the API edge reports it as the field
/// error's code); `message` is a short English sentence for people and may change.
///
/// Email codes: `email_empty`, `email_too_long`, `email_local_part_too_long`,
/// `email_invalid_characters`, `email_invalid_syntax`, `email_quoted_local_part`,
/// `email_ip_literal`, `email_multiple_addresses`, `email_invalid_domain`.
///
/// Phone codes: `phone_too_long`, `invalid_phone`, `phone_extension_not_allowed`,
/// `region_required`.
public struct AddressError: Error, Sendable, Equatable {
    /// Stable machine-readable code, for example `email_invalid_domain` or `region_required`.
    public let code: String
    /// Human-readable explanation of this occurrence.
    public let message: String

    /// Creates an error with a stable `code` and a human-readable `message`.
    public init(code: String, message: String) {
        self.code = code
        self.message = message
    }
}

// MARK: - Email errors

extension AddressError {
    static let emailEmpty = AddressError(
        code: "email_empty", message: "The email address is empty.")
    static let emailTooLong = AddressError(
        code: "email_too_long", message: "The email address is longer than 254 octets.")
    static let emailDomainTooLong = AddressError(
        code: "email_too_long", message: "The domain of the email address is longer than 255 octets.")
    static let emailLocalPartTooLong = AddressError(
        code: "email_local_part_too_long",
        message: "The part before the @ is longer than 64 octets.")
    static let emailInvalidCharacters = AddressError(
        code: "email_invalid_characters",
        message: "The email address contains control, invisible or format characters.")
    static let emailNonASCIILocalPart = AddressError(
        code: "email_invalid_characters",
        message: "The part before the @ must use ASCII characters only.")
    static let emailQuotedLocalPart = AddressError(
        code: "email_quoted_local_part",
        message: "Quoted local parts (\"…\"@example.com) are not accepted.")
    static let emailIPLiteral = AddressError(
        code: "email_ip_literal",
        message: "IP-address literals ([…]) are not accepted as email domains.")
    static let emailMultipleAddresses = AddressError(
        code: "email_multiple_addresses", message: "Give exactly one email address.")
    static let emailInvalidDomain = AddressError(
        code: "email_invalid_domain",
        message: "The domain of the email address is not a valid public domain name.")

    static func emailInvalidSyntax(_ message: String) -> AddressError {
        AddressError(code: "email_invalid_syntax", message: message)
    }
}

// MARK: - Phone errors

extension AddressError {
    static let phoneTooLong = AddressError(
        code: "phone_too_long",
        message: "The phone number is longer than \(PhoneNumberNormalizer.maximumInputLength) characters.")
    static let phoneExtensionNotAllowed = AddressError(
        code: "phone_extension_not_allowed",
        message: "Phone numbers with an extension cannot receive verification messages.")
    static let regionRequired = AddressError(
        code: "region_required",
        message: "The phone number is in national format: give it in +<country code> form or set the account's default region.")

    static func invalidPhone(_ message: String) -> AddressError {
        AddressError(code: "invalid_phone", message: message)
    }
}

import ContactVerifyCore
import ContactVerifyDelivery
import Foundation
import FuzzSupport

/// Fuzzes the path from user-controlled values to email headers: ``TemplateLibrary`` renders
/// the subject (from the account and contact names), ``MIMEMessage`` builds the message.
///
/// Input fields (split at 0xFF): account name, contact name, sender display name, recipient
/// as typed, locale, a raw subject.
///
/// Properties:
/// - nothing crashes;
/// - a rendered subject is one line (no control, line or paragraph separator character), so it
///   never makes the build fail;
/// - an address ``EmailNormalizer`` accepts is always accepted as `To`;
/// - every built message passes ``HeaderCheck`` (no bare CR or LF anywhere, exactly the eight
///   header fields the builder writes after unfolding, nothing injected, `To` exactly the
///   recipient, `Subject` and the `From` display name decoding back to what was given); a raw
///   subject or name with a control character must be refused instead.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHeaders(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = FuzzInput(data, size)
    let accountName = input.field(0) ?? "Acme"
    let contactName = input.field(1) ?? ""
    let fromName = input.field(2) ?? "ContactVerify"
    let typedTo = input.field(3) ?? "ann@example.com"
    let locale = input.field(4) ?? "en"
    let rawSubject = input.field(5) ?? ""
    let normalizedTo = try? EmailNormalizer().normalize(typedTo).address
    let method: VerificationMethod = input.bytes.count.isMultiple(of: 2) ? .code : .link

    let context = MessageContext(
        accountName: accountName, contactName: contactName, code: "012345",
        link: "https://verify.example/verify/AbC_dEf-123", expiresInMinutes: 10,
        maskedAddress: MIMEMessage.maskedEmail(normalizedTo ?? typedTo))
    let rendered: RenderedEmail
    do {
        rendered = try FuzzTemplates.library.email(method, locale: locale, context: context)
    } catch {
        fuzzCheck(false, "rendering failed with code and link given: \(error)")
        return 0
    }
    fuzzCheck(
        HeaderCheck.isOneLine(rendered.subject),
        "the rendered subject is not one line: \(rendered.subject.debugDescription)")

    // The real path: a rendered subject to a normalized (or a known good) address.
    let to = normalizedTo ?? "ann@example.com"
    build(fromName: fromName, to: to, subject: rendered.subject, mustSucceed: HeaderCheck.isOneLine(fromName))
    // Raw values straight into the builder: refused, or built safely.
    build(fromName: fromName, to: typedTo, subject: rawSubject, mustSucceed: false)
    return 0
}

/// The sender address of every fuzzed message.
private let fromAddress = "no-reply@contact-verify.example"

/// Builds one message and checks it; `mustSucceed` says that no error is acceptable.
private func build(fromName: String, to: String, subject: String, mustSucceed: Bool) {
    let message: [UInt8]
    do {
        message = try MIMEMessage.build(
            fromName: fromName, fromAddress: fromAddress, to: to, subject: subject, text: subject, html: subject,
            date: Date(timeIntervalSince1970: 1_796_000_000), messageID: "<vf_fuzz@contact-verify.example>")
    } catch {
        fuzzCheck(
            !mustSucceed,
            "building to \(to.debugDescription) with subject \(subject.debugDescription) and sender "
                + "\(fromName.debugDescription) failed: \(error)")
        return
    }
    fuzzCheck(
        HeaderCheck.isOneLine(subject) && HeaderCheck.isOneLine(fromName),
        "a subject \(subject.debugDescription) or sender \(fromName.debugDescription) with a line break was accepted")
    if let problem = HeaderCheck.problem(in: message, from: (fromName, fromAddress), to: to, subject: subject) {
        fuzzCheck(
            false,
            "\(problem) — to \(to.debugDescription), subject \(subject.debugDescription), sender "
                + "\(fromName.debugDescription), message:\n\(String(decoding: message, as: UTF8.self))")
    }
}

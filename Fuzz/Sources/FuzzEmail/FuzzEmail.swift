import ContactVerifyCore
import FuzzSupport

/// Fuzzes ``EmailNormalizer`` with the whole input as the typed address.
///
/// Properties:
/// - it never crashes (any input throws an ``AddressError`` or returns);
/// - normalization is idempotent: normalizing an accepted `address` again gives the same
///   `address` and `key`, and so does normalizing the `key` (the key is its own key);
/// - what it accepts is storable and sendable: printable ASCII only (no CR, LF or other
///   control character), at most 254 octets, exactly one `@`, `key` the ASCII lower-case
///   form of `address`.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzEmail(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = FuzzInput(data, size).text
    let normalizer = EmailNormalizer()
    guard let email = try? normalizer.normalize(input) else { return 0 }

    fuzzCheck(
        email.address.utf8.allSatisfy { (0x21...0x7E).contains($0) },
        "accepted address \(email.address.debugDescription) is not printable ASCII (input \(input.debugDescription))")
    fuzzCheck(
        email.address.utf8.count <= EmailNormalizer.maximumAddressLength,
        "accepted address \(email.address.debugDescription) is over 254 octets")
    fuzzCheck(
        email.address.utf8.count(where: { $0 == UInt8(ascii: "@") }) == 1,
        "accepted address \(email.address.debugDescription) does not hold exactly one @")
    fuzzCheck(
        email.key == email.address.lowercased(),
        "key \(email.key.debugDescription) is not the lower-cased address \(email.address.debugDescription)")

    do {
        let again = try normalizer.normalize(email.address)
        fuzzCheck(
            again == email,
            "not idempotent: \(input.debugDescription) → \(email) but its address → \(again)")
        let fromKey = try normalizer.normalize(email.key)
        fuzzCheck(
            fromKey.key == email.key && fromKey.address == email.key,
            "the key \(email.key.debugDescription) normalizes to \(fromKey)")
    } catch {
        fuzzCheck(false, "not idempotent: \(input.debugDescription) → \(email) but normalizing it again throws \(error)")
    }
    return 0
}

import ContactVerifyCore
import FuzzSupport

/// Fuzzes ``PhoneNumberNormalizer`` (libphonenumber through the C++ shim).
///
/// Input: `number` alone (no default region), or `region 0xFF number`.
///
/// Properties:
/// - it never crashes, whatever the bytes, the region or the length;
/// - the result is E.164: `+` and 2–15 ASCII digits, with no leading zero;
/// - normalization is idempotent: the accepted `e164` normalizes again, with no region and
///   with the same region, to the same `e164`, type and region code.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPhone(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = FuzzInput(data, size)
    let (region, number): (String?, String) =
        input.fieldBytes.count >= 2 ? (input.field(0), input.field(1) ?? "") : (nil, input.text)
    let normalizer = PhoneNumberNormalizer()
    guard let phone = try? normalizer.normalize(number, defaultRegion: region) else { return 0 }

    let digits = phone.e164.utf8.dropFirst()
    fuzzCheck(
        phone.e164.hasPrefix("+") && (2...15).contains(digits.count)
            && digits.allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }
            && digits.first != UInt8(ascii: "0"),
        "\(number.debugDescription) (region \(region.debugDescription)) gave \(phone.e164.debugDescription), not E.164")

    for again in [nil, region] {
        do {
            let second = try normalizer.normalize(phone.e164, defaultRegion: again)
            fuzzCheck(
                second == phone,
                "not idempotent: \(number.debugDescription) (region \(region.debugDescription)) → \(phone) "
                    + "but \(phone.e164) (region \(again.debugDescription)) → \(second)")
        } catch {
            fuzzCheck(
                false,
                "not idempotent: \(number.debugDescription) (region \(region.debugDescription)) → \(phone) "
                    + "but \(phone.e164) (region \(again.debugDescription)) throws \(error)")
        }
    }
    return 0
}

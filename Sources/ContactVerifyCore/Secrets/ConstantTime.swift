/// Comparisons whose running time does not depend on where two secrets first differ.
///
/// Use it for every comparison of a secret (code hash, token hash, API-key hash, HMAC) with a
/// value the caller supplied, so an attacker cannot learn a matching prefix from response times
/// (security.md S-13).
public enum ConstantTime {
    /// Whether `a` and `b` hold the same bytes, in time that depends only on their lengths.
    ///
    /// Every byte pair is examined, whatever the contents; there is no early exit on the first
    /// difference. The *lengths* are not secret: collections of different length return `false`
    /// at once. Compare fixed-length values (hashes, MACs) so that this leaks nothing.
    public static func equals(_ a: some Collection<UInt8>, _ b: some Collection<UInt8>) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for (x, y) in zip(a, b) {
            difference |= x ^ y
        }
        return difference == 0
    }
}

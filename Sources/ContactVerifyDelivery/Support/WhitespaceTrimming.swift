extension String {
    /// The text without the whitespace and line breaks around it, exactly as Foundation's
    /// `trimmingCharacters(in: .whitespacesAndNewlines)` trims it, without going through
    /// `NSString`.
    ///
    /// On Linux, Foundation's version copies the string into an `NSString` and back. Every SMS
    /// sent trimmed several (its text, the gateway's reply and headers, the locale): a few
    /// percent of the service's CPU during a batch (docs/performance.md, "2026-12-07, night").
    func trimmingWhitespace() -> String { self[...].trimmingWhitespace() }
}

extension Substring {
    /// The text without the whitespace and line breaks around it, as `String.trimmingWhitespace()` trims it.
    func trimmingWhitespace() -> String {
        // Unicode's White_Space (the set Foundation's is made of), and ZERO WIDTH SPACE, which
        // Foundation's set also holds. By scalar, as Foundation trims: a space that carries a
        // combining mark goes and the mark stays.
        func trims(_ scalar: Unicode.Scalar) -> Bool { scalar.properties.isWhitespace || scalar == "\u{200B}" }
        guard let first = unicodeScalars.firstIndex(where: { !trims($0) }), let last = unicodeScalars.lastIndex(where: { !trims($0) }) else {
            return ""
        }
        return String(unicodeScalars[first...last])
    }
}

import Mustache

/// A Mustache template rendered ahead of time for one combination of values present, with a
/// placeholder where each value goes: a message then joins the template's literal text with its
/// own values, escaped as Mustache escapes them.
///
/// Rendering through Mustache looks every tag up by name in a `[String: Any]`, casts each value
/// at run time and escapes it a `Character` at a time: about a tenth of the service's CPU for an
/// email (docs/performance.md, "2026-12-07, late"). When a template's tags only print values and
/// test whether they are there, its output depends on which values are present and not on what
/// they hold, so it can be rendered once per combination and split at the placeholders.
///
/// A template is prepared only when it is shown to behave so: it must not use transforms
/// (`{{uppercased(name)}}`), delimiter changes or the placeholder characters (U+E000–U+E1FF), and
/// for three unlike sets of values (empty strings and zero, markup characters, plain letters)
/// the prepared rendering must equal Mustache's. Otherwise ``init(_:slots:present:escapesHTML:)``
/// returns `nil` and the caller renders through Mustache.
///
/// HTML escaping goes a scalar at a time: `&`, `<`, `>`, `"` and `'` are always escaped. Mustache
/// compares whole characters, so it leaves a `"` followed by a combining mark unescaped (one
/// character), which could end an attribute value; here it becomes `&quot;` and the mark.
struct PreparedTemplate: Sendable {
    /// A value a template prints: text, or an integer (printed in decimal, as Mustache does).
    enum Value: Sendable {
        case text(String)
        case integer(Int)

        /// What Mustache is given for this value.
        var mustacheValue: Any {
            switch self {
            case .text(let text): text
            case .integer(let number): number
            }
        }

        /// The value as printed, before escaping.
        var printed: String {
            switch self {
            case .text(let text): text
            case .integer(let number): String(number)
            }
        }
    }

    /// A value's name in the template, and whether it is an integer (else text).
    struct Slot: Sendable {
        /// The Mustache name (`accountName`).
        var name: String
        /// Whether the value is an integer.
        var isInteger = false
    }

    private enum Part: Sendable {
        case text(String)
        case value(Int)
    }

    private let parts: [Part]
    private let escapesHTML: Bool
    private let literalUTF8Count: Int

    /// Prepares `template` for the values of `slots` (by position), of which those marked in
    /// `present` are given.
    ///
    /// `escapesHTML` says how the template escapes its values: `true` for Mustache's default
    /// (HTML), `false` for templates that set `CONTENT_TYPE: TEXT`. A template that switches
    /// content type part-way fails the check and is not prepared.
    init?(_ template: MustacheTemplate, slots: [Slot], present: [Bool], escapesHTML: Bool) {
        precondition(slots.count == present.count && slots.count <= Self.placeholderLimit)
        guard Self.usesOnlyPlainTags(template.description) else { return nil }
        var placeholders: [String: Any] = [:]
        for (index, slot) in slots.enumerated() where present[index] {
            placeholders[slot.name] = Self.placeholder(index)
        }
        guard let parts = Self.split(template.render(placeholders), present: present) else { return nil }
        self.parts = parts
        self.escapesHTML = escapesHTML
        self.literalUTF8Count = parts.reduce(0) { sum, part in
            if case .text(let text) = part { sum + text.utf8.count } else { sum }
        }
        for probe in Self.probes(for: slots, present: present) {
            let context = Self.context(slots: slots, values: probe)
            guard render(probe) == template.render(context) else { return nil }
        }
    }

    /// The presence of each value, as ``init(_:slots:present:escapesHTML:)`` takes it.
    static func presence(of values: [Value?]) -> [Bool] {
        values.map { $0 != nil }
    }

    /// The Mustache context of `values` (by position in `slots`): absent values are left out.
    static func context(slots: [Slot], values: [Value?]) -> [String: Any] {
        var context: [String: Any] = [:]
        for (slot, value) in zip(slots, values) {
            if let value { context[slot.name] = value.mustacheValue }
        }
        return context
    }

    /// Renders `values` (by position, present exactly where the template was prepared for).
    func render(_ values: [Value?]) -> String {
        var output = ""
        output.reserveCapacity(literalUTF8Count + 256)
        for part in parts {
            switch part {
            case .text(let text):
                output += text
            case .value(let slot):
                guard let value = values[slot] else { continue }
                let printed = value.printed
                if escapesHTML {
                    Self.appendEscapingHTML(printed, to: &output)
                } else {
                    output += printed
                }
            }
        }
        return output
    }

    // MARK: - Preparation

    private static let placeholderMark: Unicode.Scalar = "\u{E000}"
    private static let firstSlotScalar: UInt32 = 0xE100
    private static let placeholderLimit = 0x100
    private static let reservedScalars: ClosedRange<UInt32> = 0xE000...0xE1FF

    private static func placeholder(_ slot: Int) -> String {
        var text = String.UnicodeScalarView()
        text.append(placeholderMark)
        text.append(Unicode.Scalar(firstSlotScalar + UInt32(slot))!)
        return String(text)
    }

    /// Whether the source can be prepared at all: no reserved scalars, no delimiter change, and
    /// no tag with a transform (`(` inside `{{…}}`).
    private static func usesOnlyPlainTags(_ source: String) -> Bool {
        if source.unicodeScalars.contains(where: { reservedScalars.contains($0.value) }) { return false }
        return !TemplateLibrary.tags(in: source).contains { tag in
            tag.first(where: { !$0.isWhitespace }) == "=" || tag.contains("(")
        }
    }

    /// The rendering split at its placeholders; `nil` when one is broken or stands for a value
    /// that is not present.
    private static func split(_ rendered: String, present: [Bool]) -> [Part]? {
        var parts: [Part] = []
        var literal = String.UnicodeScalarView()
        var scalars = rendered.unicodeScalars.makeIterator()
        while let scalar = scalars.next() {
            guard reservedScalars.contains(scalar.value) else {
                literal.append(scalar)
                continue
            }
            guard scalar == placeholderMark, let slotScalar = scalars.next(),
                slotScalar.value >= firstSlotScalar, Int(slotScalar.value - firstSlotScalar) < present.count,
                present[Int(slotScalar.value - firstSlotScalar)]
            else { return nil }
            if !literal.isEmpty {
                parts.append(.text(String(literal)))
                literal = String.UnicodeScalarView()
            }
            parts.append(.value(Int(slotScalar.value - firstSlotScalar)))
        }
        if !literal.isEmpty { parts.append(.text(String(literal))) }
        return parts
    }

    /// Three unlike sets of values with the given presence: empty text and zero; markup
    /// characters, mixed case and non-ASCII text and one; plain letters and a larger number.
    private static func probes(for slots: [Slot], present: [Bool]) -> [[Value?]] {
        let texts = ["", "Ab <&\"'> \u{E9}\u{4E2D} z", "xyZ"]
        let numbers = [0, 1, 1440]
        return (0..<3).map { probe in
            slots.indices.map { index -> Value? in
                guard present[index] else { return nil }
                // Each value its own (but all empty or zero in the first probe).
                if slots[index].isInteger { return .integer(probe == 0 ? 0 : numbers[probe] + index) }
                return .text(probe == 0 ? "" : texts[probe] + String(index))
            }
        }
    }

    // MARK: - Escaping

    /// Appends `text` with `&`, `<`, `>`, `"` and `'` escaped as Mustache escapes them.
    static func appendEscapingHTML(_ text: String, to output: inout String) {
        // These five are ASCII, so no byte of a longer UTF-8 sequence can be mistaken for one.
        guard text.utf8.contains(where: { $0 == 0x26 || $0 == 0x3C || $0 == 0x3E || $0 == 0x22 || $0 == 0x27 }) else {
            output += text
            return
        }
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": output += "&amp;"
            case "<": output += "&lt;"
            case ">": output += "&gt;"
            case "\"": output += "&quot;"
            case "'": output += "&#39;"
            default: output.unicodeScalars.append(scalar)
            }
        }
    }
}

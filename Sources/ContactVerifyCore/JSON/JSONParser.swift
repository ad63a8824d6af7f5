/// A strict RFC 8259 JSON parser for request bodies.
///
/// Unlike Foundation's `JSONDecoder` it rejects what a lenient parser would paper over, each
/// with a ``JSONParseError`` that names the path: duplicate keys, invalid UTF-8 anywhere
/// (overlong forms, UTF-8-encoded surrogates, truncated sequences), lone `\u` surrogates,
/// raw control characters in strings, leading zeros, `NaN`/`Infinity`, comments, trailing
/// commas, trailing content, a byte order mark, and nesting deeper than `maxDepth`.
///
/// The parser is iterative (no recursion), so hostile nesting cannot exhaust the stack, and it
/// works on the raw bytes: strings without escapes are validated in one pass and copied once.
/// It does not limit the document size; the HTTP layer caps bodies (1 MiB) before parsing.
///
/// ```swift
/// let value = try JSONParser.parse(request.body)   // throws(JSONParseError)
/// ```
public enum JSONParser {
    /// The nesting limit used when the caller does not pass one.
    public static let defaultMaxDepth = 32

    /// Parses one JSON document from UTF-8 bytes.
    ///
    /// - Parameters:
    ///   - bytes: The document. Contiguous collections (`[UInt8]`, `Data`, NIO's
    ///     `ByteBufferView`, `UnsafeRawBufferPointer`, a native `String.UTF8View`) are read in
    ///     place; others are copied once.
    ///   - maxDepth: How many arrays and objects may be open at once; `[[1]]` has depth 2.
    /// - Returns: The value; numbers keep their literal text and strings are not normalized.
    /// - Throws: ``JSONParseError`` for anything that is not strict RFC 8259 JSON in UTF-8.
    public static func parse(
        _ bytes: some Collection<UInt8>, maxDepth: Int = defaultMaxDepth
    ) throws(JSONParseError) -> JSONValue {
        let result = bytes.withContiguousStorageIfAvailable { buffer in
            parse(buffer: buffer, maxDepth: maxDepth)
        } ?? Array(bytes).withUnsafeBufferPointer { buffer in
            parse(buffer: buffer, maxDepth: maxDepth)
        }
        return try result.get()
    }

    private static func parse(
        buffer: UnsafeBufferPointer<UInt8>, maxDepth: Int
    ) -> Result<JSONValue, JSONParseError> {
        var parser = Parser(bytes: buffer, maxDepth: maxDepth)
        do {
            return .success(try parser.parseDocument())
        } catch {
            return .failure(error)
        }
    }
}

// MARK: - Parser

/// ASCII code points the parser compares against.
private enum ASCII {
    static let quote: UInt8 = 0x22          // "
    static let backslash: UInt8 = 0x5C      // \
    static let slash: UInt8 = 0x2F          // /
    static let comma: UInt8 = 0x2C          // ,
    static let colon: UInt8 = 0x3A          // :
    static let openBracket: UInt8 = 0x5B    // [
    static let closeBracket: UInt8 = 0x5D   // ]
    static let openBrace: UInt8 = 0x7B      // {
    static let closeBrace: UInt8 = 0x7D     // }
    static let minus: UInt8 = 0x2D          // -
    static let plus: UInt8 = 0x2B           // +
    static let dot: UInt8 = 0x2E            // .
    static let zero: UInt8 = 0x30           // 0
    static let nine: UInt8 = 0x39           // 9
    static let space: UInt8 = 0x20
    static let tab: UInt8 = 0x09
    static let lineFeed: UInt8 = 0x0A
    static let carriageReturn: UInt8 = 0x0D
    static let lowerE: UInt8 = 0x65         // e
    static let upperE: UInt8 = 0x45         // E
    static let lowerT: UInt8 = 0x74         // t
    static let lowerF: UInt8 = 0x66         // f
    static let lowerN: UInt8 = 0x6E         // n
    static let lowerU: UInt8 = 0x75         // u
    static let lowerB: UInt8 = 0x62         // b
    static let lowerR: UInt8 = 0x72         // r
}

/// An array or object that is still open, with what it has collected so far.
private struct Frame {
    var isObject: Bool
    var array: [JSONValue] = []
    var object = JSONObject()
    /// The key whose value is being parsed (objects only).
    var key: String?
}

private struct Parser {
    let bytes: UnsafeBufferPointer<UInt8>
    let end: Int
    let maxDepth: Int
    var position = 0
    var stack: [Frame] = []

    init(bytes: UnsafeBufferPointer<UInt8>, maxDepth: Int) {
        self.bytes = bytes
        self.end = bytes.count
        self.maxDepth = maxDepth
    }

    // MARK: Document structure

    mutating func parseDocument() throws(JSONParseError) -> JSONValue {
        skipWhitespace()
        guard position < end else {
            throw JSONParseError(
                kind: .empty, message: "The request body is empty; expected a JSON document.",
                offset: position, path: "")
        }
        needValue: while true {
            // Start of a value, whitespace already skipped.
            guard var value = try parseScalarOrOpenContainer() else {
                continue needValue   // a container was opened and needs its first value
            }
            // Hand the finished value to the enclosing containers, closing those that end here.
            while true {
                skipWhitespace()
                let top = stack.count - 1
                guard top >= 0 else {
                    guard position == end else {
                        throw error(.trailingContent, "Unexpected content after the JSON document")
                    }
                    return value
                }
                guard position < end else {
                    throw error(.syntax, stack[top].isObject
                        ? "Unterminated object; expected ',' or '}'"
                        : "Unterminated array; expected ',' or ']'")
                }
                let byte = bytes[position]
                if stack[top].isObject {
                    stack[top].object.appendUnchecked(value, forKey: stack[top].key!)
                    stack[top].key = nil
                    if byte == ASCII.comma {
                        position += 1
                        skipWhitespace()
                        try parseKey()
                        continue needValue
                    }
                    guard byte == ASCII.closeBrace else {
                        throw error(.syntax, "Expected ',' or '}' after an object member")
                    }
                    position += 1
                    value = .object(stack.removeLast().object)
                } else {
                    stack[top].array.append(value)
                    if byte == ASCII.comma {
                        position += 1
                        skipWhitespace()
                        continue needValue
                    }
                    guard byte == ASCII.closeBracket else {
                        throw error(.syntax, "Expected ',' or ']' after an array element")
                    }
                    position += 1
                    value = .array(stack.removeLast().array)
                }
            }
        }
    }

    /// Parses a scalar, an empty container, or opens a container (pushing a frame and, for an
    /// object, reading its first key) and returns `nil`.
    private mutating func parseScalarOrOpenContainer() throws(JSONParseError) -> JSONValue? {
        guard position < end else {
            throw error(.syntax, "Unexpected end of input; expected a value")
        }
        switch bytes[position] {
        case ASCII.quote:
            return .string(try parseString())
        case ASCII.minus, ASCII.zero...ASCII.nine:
            return try parseNumber()
        case ASCII.openBrace:
            guard stack.count < maxDepth else { throw tooDeep() }
            position += 1
            skipWhitespace()
            if position < end, bytes[position] == ASCII.closeBrace {
                position += 1
                return .object(JSONObject())
            }
            stack.append(Frame(isObject: true))
            try parseKey()
            return nil
        case ASCII.openBracket:
            guard stack.count < maxDepth else { throw tooDeep() }
            position += 1
            skipWhitespace()
            if position < end, bytes[position] == ASCII.closeBracket {
                position += 1
                return .array([])
            }
            stack.append(Frame(isObject: false))
            return nil
        case ASCII.lowerT:
            try expectLiteral("true")
            return .bool(true)
        case ASCII.lowerF:
            try expectLiteral("false")
            return .bool(false)
        case ASCII.lowerN:
            try expectLiteral("null")
            return .null
        case ASCII.closeBracket, ASCII.closeBrace:
            throw error(.syntax, "Expected a value (trailing commas are not allowed)")
        default:
            throw error(.syntax, "Unexpected character; expected a value")
        }
    }

    /// Reads `"key"` and `:` (and following whitespace) for the object frame on top of the stack.
    private mutating func parseKey() throws(JSONParseError) {
        guard position < end, bytes[position] == ASCII.quote else {
            throw error(.syntax, position < end && bytes[position] == ASCII.closeBrace
                ? "Expected a member name (trailing commas are not allowed)"
                : "Expected a member name in double quotes")
        }
        let keyOffset = position
        let key = try parseString()
        let top = stack.count - 1
        if stack[top].object.contains(key: key) {
            stack[top].key = key
            throw error(.duplicateKey, "The member name appears more than once in the object", at: keyOffset)
        }
        stack[top].key = key
        skipWhitespace()
        guard position < end, bytes[position] == ASCII.colon else {
            throw error(.syntax, "Expected ':' after a member name")
        }
        position += 1
        skipWhitespace()
    }

    @inline(__always)
    private mutating func skipWhitespace() {
        while position < end {
            switch bytes[position] {
            case ASCII.space, ASCII.lineFeed, ASCII.carriageReturn, ASCII.tab:
                position += 1
            default:
                return
            }
        }
    }

    private mutating func expectLiteral(_ literal: StaticString) throws(JSONParseError) {
        let count = literal.utf8CodeUnitCount
        let text = UnsafeBufferPointer(start: literal.utf8Start, count: count)
        for offset in 0..<count {
            guard position + offset < end, bytes[position + offset] == text[offset] else {
                throw error(.syntax, "Unexpected character; expected a value", at: position + offset)
            }
        }
        position += count
    }

    // MARK: Numbers

    @inline(__always)
    private func isDigit(at index: Int) -> Bool {
        index < end && bytes[index] >= ASCII.zero && bytes[index] <= ASCII.nine
    }

    /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`
    private mutating func parseNumber() throws(JSONParseError) -> JSONValue {
        let start = position
        if bytes[position] == ASCII.minus {
            position += 1
        }
        guard isDigit(at: position) else {
            throw error(.syntax, "Invalid number; expected a digit")
        }
        if bytes[position] == ASCII.zero {
            position += 1
            if isDigit(at: position) {
                throw error(.syntax, "Invalid number; leading zeros are not allowed")
            }
        } else {
            while isDigit(at: position) { position += 1 }
        }
        if position < end, bytes[position] == ASCII.dot {
            position += 1
            guard isDigit(at: position) else {
                throw error(.syntax, "Invalid number; expected a digit after the decimal point")
            }
            while isDigit(at: position) { position += 1 }
        }
        if position < end, bytes[position] == ASCII.lowerE || bytes[position] == ASCII.upperE {
            position += 1
            if position < end, bytes[position] == ASCII.plus || bytes[position] == ASCII.minus {
                position += 1
            }
            guard isDigit(at: position) else {
                throw error(.syntax, "Invalid number; expected a digit in the exponent")
            }
            while isDigit(at: position) { position += 1 }
        }
        return .number(String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self))
    }

    // MARK: Strings

    /// Parses a string starting at its opening quote.
    private mutating func parseString() throws(JSONParseError) -> String {
        let start = position + 1
        var index = start
        while true {
            index = skipPlainASCII(from: index)
            guard index < end else {
                throw error(.syntax, "Unterminated string", at: position)
            }
            let byte = bytes[index]
            if byte == ASCII.quote {
                position = index + 1
                return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
            } else if byte == ASCII.backslash {
                return try parseEscapedString(start: start, firstEscape: index)
            } else if byte < 0x20 {
                throw error(.syntax, "Control characters must be escaped in strings", at: index)
            } else if byte < 0x80 {
                index += 1
            } else {
                guard let length = utf8SequenceLength(at: index) else {
                    throw error(.invalidUTF8, "A string is not valid UTF-8", at: index)
                }
                index += length
            }
        }
    }

    /// Slow path for strings with escapes: decodes into a byte buffer from the first escape on.
    private mutating func parseEscapedString(start: Int, firstEscape: Int) throws(JSONParseError) -> String {
        var utf8: [UInt8] = []
        utf8.reserveCapacity(firstEscape - start + 32)
        utf8.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start..<firstEscape]))
        var index = firstEscape
        var runStart = index
        while true {
            index = skipPlainASCII(from: index)
            guard index < end else {
                throw error(.syntax, "Unterminated string", at: start - 1)
            }
            let byte = bytes[index]
            if byte == ASCII.quote {
                utf8.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<index]))
                position = index + 1
                return String(decoding: utf8, as: UTF8.self)
            } else if byte == ASCII.backslash {
                utf8.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<index]))
                index = try decodeEscape(at: index, into: &utf8)
                runStart = index
            } else if byte < 0x20 {
                throw error(.syntax, "Control characters must be escaped in strings", at: index)
            } else if byte < 0x80 {
                index += 1
            } else {
                guard let length = utf8SequenceLength(at: index) else {
                    throw error(.invalidUTF8, "A string is not valid UTF-8", at: index)
                }
                index += length
            }
        }
    }

    /// Decodes the escape at `index` (a backslash) into `utf8`; returns the index after it.
    private func decodeEscape(at index: Int, into utf8: inout [UInt8]) throws(JSONParseError) -> Int {
        guard index + 1 < end else {
            throw error(.syntax, "Unterminated string", at: index)
        }
        let decoded: UInt8
        switch bytes[index + 1] {
        case ASCII.quote: decoded = ASCII.quote
        case ASCII.backslash: decoded = ASCII.backslash
        case ASCII.slash: decoded = ASCII.slash
        case ASCII.lowerB: decoded = 0x08
        case ASCII.lowerF: decoded = 0x0C
        case ASCII.lowerN: decoded = ASCII.lineFeed
        case ASCII.lowerR: decoded = ASCII.carriageReturn
        case ASCII.lowerT: decoded = ASCII.tab
        case ASCII.lowerU:
            return try decodeUnicodeEscape(at: index, into: &utf8)
        default:
            throw error(.syntax, "Invalid escape sequence in a string", at: index)
        }
        utf8.append(decoded)
        return index + 2
    }

    /// Decodes `\uXXXX` (or a `\uD8XX\uDCXX` surrogate pair) at `index`.
    private func decodeUnicodeEscape(at index: Int, into utf8: inout [UInt8]) throws(JSONParseError) -> Int {
        guard let unit = hex4(at: index + 2) else {
            throw error(.syntax, "Invalid \\u escape; expected four hexadecimal digits", at: index)
        }
        var scalar = UInt32(unit)
        var next = index + 6
        switch unit {
        case 0xD800...0xDBFF:
            guard next + 1 < end, bytes[next] == ASCII.backslash, bytes[next + 1] == ASCII.lowerU,
                  let low = hex4(at: next + 2), (0xDC00...0xDFFF).contains(low)
            else {
                throw error(.syntax, "Invalid \\u escape; a high surrogate must be followed by a low surrogate", at: index)
            }
            scalar = 0x10000 + ((UInt32(unit) - 0xD800) << 10) + (UInt32(low) - 0xDC00)
            next += 6
        case 0xDC00...0xDFFF:
            throw error(.syntax, "Invalid \\u escape; a low surrogate without a high surrogate", at: index)
        default:
            break
        }
        appendUTF8(scalar, to: &utf8)
        return next
    }

    private func hex4(at index: Int) -> UInt16? {
        guard index + 4 <= end else { return nil }
        var value: UInt16 = 0
        for offset in 0..<4 {
            let byte = bytes[index + offset]
            let digit: UInt8
            switch byte {
            case 0x30...0x39: digit = byte - 0x30
            case 0x41...0x46: digit = byte - 0x41 + 10
            case 0x61...0x66: digit = byte - 0x61 + 10
            default: return nil
            }
            value = value << 4 | UInt16(digit)
        }
        return value
    }

    private func appendUTF8(_ scalar: UInt32, to utf8: inout [UInt8]) {
        switch scalar {
        case 0..<0x80:
            utf8.append(UInt8(scalar))
        case 0x80..<0x800:
            utf8.append(UInt8(0xC0 | scalar >> 6))
            utf8.append(UInt8(0x80 | scalar & 0x3F))
        case 0x800..<0x10000:
            utf8.append(UInt8(0xE0 | scalar >> 12))
            utf8.append(UInt8(0x80 | scalar >> 6 & 0x3F))
            utf8.append(UInt8(0x80 | scalar & 0x3F))
        default:
            utf8.append(UInt8(0xF0 | scalar >> 18))
            utf8.append(UInt8(0x80 | scalar >> 12 & 0x3F))
            utf8.append(UInt8(0x80 | scalar >> 6 & 0x3F))
            utf8.append(UInt8(0x80 | scalar & 0x3F))
        }
    }

    /// Skips 8 bytes at a time while they are all printable ASCII other than `"` and `\`;
    /// returns the index of the first byte that needs a closer look (or near the end).
    @inline(__always)
    private func skipPlainASCII(from start: Int) -> Int {
        guard let base = bytes.baseAddress else { return start }
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        var index = start
        while index + 8 <= end {
            let word = UnsafeRawPointer(base + index).loadUnaligned(as: UInt64.self)
            let quotes = word ^ (ones &* UInt64(ASCII.quote))
            let backslashes = word ^ (ones &* UInt64(ASCII.backslash))
            let special = ((word &- ones &* 0x20) & ~word)          // a byte below 0x20
                | ((quotes &- ones) & ~quotes)                      // a zero byte: a quote
                | ((backslashes &- ones) & ~backslashes)            // a zero byte: a backslash
                | word                                              // a byte at or above 0x80
            if special & highs != 0 {
                return index
            }
            index += 8
        }
        return index
    }

    /// The length of the well-formed UTF-8 sequence at `index` (Unicode Table 3-7), or `nil`.
    private func utf8SequenceLength(at index: Int) -> Int? {
        let lead = bytes[index]
        let length: Int
        var secondRange: ClosedRange<UInt8> = 0x80...0xBF
        switch lead {
        case 0x00...0x7F: return 1
        case 0xC2...0xDF: length = 2
        case 0xE0: length = 3; secondRange = 0xA0...0xBF
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED: length = 3; secondRange = 0x80...0x9F
        case 0xF0: length = 4; secondRange = 0x90...0xBF
        case 0xF1...0xF3: length = 4
        case 0xF4: length = 4; secondRange = 0x80...0x8F
        default: return nil
        }
        guard index + length <= end, secondRange.contains(bytes[index + 1]) else { return nil }
        for offset in 2..<length where bytes[index + offset] & 0xC0 != 0x80 {
            return nil
        }
        return length
    }

    // MARK: Errors

    private func tooDeep() -> JSONParseError {
        error(.tooDeep, "Arrays and objects are nested more than \(maxDepth) levels deep")
    }

    /// An error at `offset` (default: the current position). A syntax or trailing-content error at
    /// a byte that does not start well-formed UTF-8 is reported as invalid UTF-8: the real problem.
    private func error(_ kind: JSONParseError.Kind, _ reason: String, at offset: Int? = nil) -> JSONParseError {
        let offset = offset ?? position
        var kind = kind
        var reason = reason
        if kind == .syntax || kind == .trailingContent, offset < end, bytes[offset] >= 0x80,
           utf8SequenceLength(at: offset) == nil {
            kind = .invalidUTF8
            reason = "The body is not valid UTF-8"
        }
        return JSONParseError(
            kind: kind, message: "\(reason) (byte offset \(offset)).", offset: offset, path: currentPath())
    }

    /// The dotted path of the value being parsed: array indexes and object keys of open frames.
    private func currentPath() -> String {
        var parts: [String] = []
        parts.reserveCapacity(stack.count)
        for frame in stack {
            if frame.isObject {
                guard let key = frame.key else { break }
                parts.append(key)
            } else {
                parts.append(String(frame.array.count))
            }
        }
        return parts.joined(separator: ".")
    }
}

/// Reads a request object field by field, collecting every problem as a ``FieldError`` instead
/// of stopping at the first, then reports them all from ``finish()``.
///
/// ```swift
/// var reader = try JSONObjectReader.parseObject(body)
/// let name = reader.string("name", required: true, maxLength: 200)
/// let email = reader.nullableString("email", maxLength: 320)
/// if var filter = reader.object("filter") {
///     status = filter.enumString("status", allowed: ["verified", "not_verified"])
/// }
/// try reader.finish()   // unknown fields + everything above, in one ServiceError.validation
/// ```
///
/// Rules every accessor follows:
/// - A missing member is `nil` (or ``JSONField/absent``); with `required: true` it also records
///   `required`.
/// - `null` is a wrong type for the plain accessors (code `wrong_type`); use the `nullable…`
///   accessors where the contract allows `null`.
/// - On any problem the accessor returns `nil` (or `.absent`) and records the error; the caller
///   keeps reading, and ``finish()`` throws.
/// - Lengths (`maxLength`) count Unicode scalars, not bytes or grapheme clusters, so the limit
///   is independent of normalization-sensitive grapheme rules and never exceeds 4 × bytes.
/// - Field paths are dotted (`filter.status`, `webhooks.1.url`); errors about the root object
///   itself use the field `body`.
/// - Messages name the field and the expected type and never repeat the submitted value.
///
/// A reader is a handle: nested readers from ``object(_:required:)`` and
/// ``objectArray(_:required:maxCount:)`` share their parent's error log, so their problems (and
/// their unknown fields) are reported by the parent's ``finish()`` even if nobody finishes the
/// nested reader. Copies of a reader share state. At most ``maxReportedErrors`` problems are
/// listed; a final `too_many_errors` entry says when more were found.
public struct JSONObjectReader {
    /// The most problems one ``finish()`` lists, so hostile bodies cannot inflate the response.
    public static let maxReportedErrors = 100

    private let state: ReaderState

    /// Starts reading `value` as the object at `path` (`""` for the request body). A value that
    /// is not an object records `wrong_type` (field `body` at the root), and then every accessor
    /// returns `nil` without recording more.
    public init(_ value: JSONValue, path: String = "") {
        self.init(value, path: path, budget: ErrorBudget())
    }

    private init(_ value: JSONValue, path: String, budget: ErrorBudget) {
        if case .object(let object) = value {
            state = ReaderState(object: object, path: path, budget: budget)
        } else {
            state = ReaderState(object: nil, path: path, budget: budget)
            let message = path.isEmpty
                ? "The request body must be a JSON object, not \(value.typeDescription)."
                : "'\(path)' must be an object, not \(value.typeDescription)."
            state.record(FieldError(field: path.isEmpty ? "body" : path, code: "wrong_type", message: message))
        }
    }

    /// Parses `bytes` with ``JSONParser`` and starts reading the root object.
    ///
    /// - Throws: `ServiceError.validation([error.fieldError])` when the bytes are not valid JSON.
    ///   A valid document that is not an object does not throw here; it records `wrong_type`
    ///   and ``finish()`` throws.
    public static func parseObject(
        _ bytes: some Collection<UInt8>, maxDepth: Int = JSONParser.defaultMaxDepth
    ) throws(ServiceError) -> JSONObjectReader {
        do {
            return JSONObjectReader(try JSONParser.parse(bytes, maxDepth: maxDepth))
        } catch {
            throw ServiceError.validation([error.fieldError])
        }
    }

    // MARK: State

    /// The dotted path of this object (`""` for the request body).
    public var path: String { state.path }

    /// The object being read, or `nil` when the value was not an object.
    public var object: JSONObject? { state.object }

    /// Whether this reader or any nested reader has recorded a problem so far.
    public var hasErrors: Bool { state.subtreeErrorCount > 0 }

    /// The problems recorded so far by this reader and its nested readers, in the order they
    /// were found (unknown fields appear only after ``finish()``).
    public var errors: [FieldError] {
        var errors: [FieldError] = []
        state.collect(into: &errors)
        return errors
    }

    /// The dotted path of member `key` of this object (`filter.status`).
    public func fieldPath(_ key: String) -> String {
        state.fieldPath(key)
    }

    /// Whether the object has a member `key`; does not count as reading it.
    public func contains(_ key: String) -> Bool {
        state.object?.contains(key: key) ?? false
    }

    /// Records a problem found by the caller's own validation (`invalid_email`, …) so it is
    /// reported with the others. `key` names a member of this object; `nil` means the object
    /// itself (field `body` at the root). The message must not repeat the submitted value.
    public mutating func recordError(_ code: String, field key: String? = nil, message: String) {
        let field = key.map(state.fieldPath) ?? (state.path.isEmpty ? "body" : state.path)
        state.record(FieldError(field: field, code: code, message: message))
    }

    /// Records `unknown_field` for every member nobody read (here and in nested readers), then
    /// throws all recorded problems as one `ServiceError.validation`. Call it after the last
    /// read; calling it again does not repeat the unknown-field errors.
    public mutating func finish() throws(ServiceError) {
        state.finish()
        let total = state.subtreeErrorCount
        guard total > 0 else { return }
        var errors: [FieldError] = []
        state.collect(into: &errors)
        if errors.count < total {
            errors.append(FieldError(
                field: state.path.isEmpty ? "body" : state.path, code: "too_many_errors",
                message: "Only the first \(Self.maxReportedErrors) problems are listed."))
        }
        throw ServiceError.validation(errors)
    }

    // MARK: Raw access

    /// The raw value of member `key`, marking it read; `nil` when missing (recording `required`
    /// if asked). For members whose shape the typed accessors do not cover.
    public mutating func value(_ key: String, required: Bool = false) -> JSONValue? {
        member(key, required: required)
    }

    // MARK: Strings

    /// A string member.
    ///
    /// Records `required`, `wrong_type`, `empty` (an empty string when `nonEmpty`), or `too_long`
    /// (more than `maxLength` Unicode scalars).
    public mutating func string(
        _ key: String, required: Bool = false, maxLength: Int? = nil, nonEmpty: Bool = false
    ) -> String? {
        guard let value = member(key, required: required) else { return nil }
        return checkedString(value, at: state.fieldPath(key), maxLength: maxLength, nonEmpty: nonEmpty)
    }

    /// A string member that may be `null`, for PATCH bodies: ``JSONField/absent`` when left out
    /// (or invalid), ``JSONField/null`` for `null`. Checks as ``string(_:required:maxLength:nonEmpty:)``.
    public mutating func nullableString(
        _ key: String, required: Bool = false, maxLength: Int? = nil, nonEmpty: Bool = false
    ) -> JSONField<String> {
        guard let value = member(key, required: required) else { return .absent }
        if case .null = value { return .null }
        guard let string = checkedString(value, at: state.fieldPath(key), maxLength: maxLength, nonEmpty: nonEmpty)
        else { return .absent }
        return .value(string)
    }

    /// A string member that must be one of `allowed` (compared exactly); records `invalid_value`
    /// with a message listing the allowed values.
    public mutating func enumString(_ key: String, allowed: [String], required: Bool = false) -> String? {
        guard let value = member(key, required: required) else { return nil }
        let field = state.fieldPath(key)
        guard case .string(let string) = value else {
            state.record(wrongType(field, expected: "a string", got: value))
            return nil
        }
        guard allowed.contains(string) else {
            state.record(FieldError(
                field: field, code: "invalid_value",
                message: "'\(field)' must be one of: \(allowed.joined(separator: ", "))."))
            return nil
        }
        return string
    }

    /// A string member converted to a `RawRepresentable` enum, allowing every case; records
    /// `invalid_value` like ``enumString(_:allowed:required:)``.
    public mutating func enumValue<Value: RawRepresentable & CaseIterable>(
        _ key: String, as type: Value.Type, required: Bool = false
    ) -> Value? where Value.RawValue == String {
        enumString(key, allowed: Value.allCases.map(\.rawValue), required: required).flatMap(Value.init(rawValue:))
    }

    // MARK: Numbers and booleans

    /// An integer member: a JSON number written as an integer literal (`1.0`, `1e2` record
    /// `wrong_type`). Records `out_of_range` outside `range` or beyond `Int`.
    public mutating func int(_ key: String, required: Bool = false, range: ClosedRange<Int>? = nil) -> Int? {
        guard let value = member(key, required: required) else { return nil }
        return checkedInt(value, at: state.fieldPath(key), range: range)
    }

    /// An integer member that may be `null`; checks as ``int(_:required:range:)``.
    public mutating func nullableInt(
        _ key: String, required: Bool = false, range: ClosedRange<Int>? = nil
    ) -> JSONField<Int> {
        guard let value = member(key, required: required) else { return .absent }
        if case .null = value { return .null }
        return checkedInt(value, at: state.fieldPath(key), range: range).map { .value($0) } ?? .absent
    }

    /// A boolean member (`true` or `false`).
    public mutating func bool(_ key: String, required: Bool = false) -> Bool? {
        guard let value = member(key, required: required) else { return nil }
        guard case .bool(let bool) = value else {
            state.record(wrongType(state.fieldPath(key), expected: "a boolean", got: value))
            return nil
        }
        return bool
    }

    /// A boolean member that may be `null`.
    public mutating func nullableBool(_ key: String, required: Bool = false) -> JSONField<Bool> {
        guard let value = member(key, required: required) else { return .absent }
        switch value {
        case .null: return .null
        case .bool(let bool): return .value(bool)
        default:
            state.record(wrongType(state.fieldPath(key), expected: "a boolean", got: value))
            return .absent
        }
    }

    // MARK: Arrays and nested objects

    /// An array of strings with at most `maxCount` elements (more records `too_many` and skips
    /// the elements). Each element is checked like ``string(_:required:maxLength:nonEmpty:)``
    /// at path `key.index`; any bad element makes the result `nil`.
    public mutating func stringArray(
        _ key: String, required: Bool = false, maxCount: Int, maxLength: Int? = nil, nonEmpty: Bool = false
    ) -> [String]? {
        guard let items = checkedArray(key, required: required, maxCount: maxCount, expected: "an array of strings")
        else { return nil }
        let field = state.fieldPath(key)
        var strings: [String] = []
        strings.reserveCapacity(items.count)
        var valid = true
        for (index, item) in items.enumerated() {
            if let string = checkedString(item, at: "\(field).\(index)", maxLength: maxLength, nonEmpty: nonEmpty) {
                strings.append(string)
            } else {
                valid = false
            }
        }
        return valid ? strings : nil
    }

    /// A nested object, read with its own reader at path `key`; its problems and unknown fields
    /// are reported by this reader's ``finish()``. Records `wrong_type` for a non-object.
    public mutating func object(_ key: String, required: Bool = false) -> JSONObjectReader? {
        guard let value = member(key, required: required) else { return nil }
        let field = state.fieldPath(key)
        guard case .object = value else {
            state.record(wrongType(field, expected: "an object", got: value))
            return nil
        }
        return child(value, at: field)
    }

    /// An array of objects with at most `maxCount` elements, one nested reader per element at
    /// paths `key.0`, `key.1`, …. An element that is not an object records `wrong_type` and its
    /// reader returns `nil` for everything, so indexes still line up.
    public mutating func objectArray(
        _ key: String, required: Bool = false, maxCount: Int
    ) -> [JSONObjectReader]? {
        guard let items = checkedArray(key, required: required, maxCount: maxCount, expected: "an array of objects")
        else { return nil }
        let field = state.fieldPath(key)
        return items.enumerated().map { index, item in child(item, at: "\(field).\(index)") }
    }

    // MARK: Helpers

    /// The value of member `key`, marking it read. `nil` when missing (recording `required` if
    /// asked) or when this reader has no object.
    private func member(_ key: String, required: Bool) -> JSONValue? {
        guard let object = state.object else { return nil }
        guard let index = object.index(forKey: key) else {
            if required {
                let field = state.fieldPath(key)
                state.record(FieldError(field: field, code: "required", message: "'\(field)' is required."))
            }
            return nil
        }
        state.read[index] = true
        return object.entries[index].value
    }

    private func child(_ value: JSONValue, at field: String) -> JSONObjectReader {
        let reader = JSONObjectReader(value, path: field, budget: state.budget)
        state.log.append(.child(reader.state))
        return reader
    }

    private func checkedArray(
        _ key: String, required: Bool, maxCount: Int, expected: String
    ) -> [JSONValue]? {
        guard let value = member(key, required: required) else { return nil }
        let field = state.fieldPath(key)
        guard case .array(let items) = value else {
            state.record(wrongType(field, expected: expected, got: value))
            return nil
        }
        guard items.count <= maxCount else {
            state.record(FieldError(
                field: field, code: "too_many", message: "'\(field)' must have at most \(maxCount) items."))
            return nil
        }
        return items
    }

    private func checkedString(_ value: JSONValue, at field: String, maxLength: Int?, nonEmpty: Bool) -> String? {
        guard case .string(let string) = value else {
            state.record(wrongType(field, expected: "a string", got: value))
            return nil
        }
        if nonEmpty, string.isEmpty {
            state.record(FieldError(field: field, code: "empty", message: "'\(field)' must not be empty."))
            return nil
        }
        // UTF-8 length bounds the scalar count, so short strings skip the count.
        if let maxLength, string.utf8.count > maxLength, string.unicodeScalars.count > maxLength {
            state.record(FieldError(
                field: field, code: "too_long",
                message: "'\(field)' must be at most \(maxLength) characters long."))
            return nil
        }
        return string
    }

    private func checkedInt(_ value: JSONValue, at field: String, range: ClosedRange<Int>?) -> Int? {
        guard case .number(let literal) = value, Self.isIntegerLiteral(literal) else {
            let got = if case .number = value { "a number with a fraction or exponent" } else { value.typeDescription }
            state.record(FieldError(field: field, code: "wrong_type", message: "'\(field)' must be an integer, not \(got)."))
            return nil
        }
        let bounds = range ?? Int.min...Int.max
        guard let int = Int(literal), bounds.contains(int) else {
            state.record(FieldError(
                field: field, code: "out_of_range",
                message: "'\(field)' must be between \(bounds.lowerBound) and \(bounds.upperBound)."))
            return nil
        }
        return int
    }

    /// `-?[0-9]+`: what an integer looks like in JSON (the parser already forbids leading zeros).
    private static func isIntegerLiteral(_ literal: String) -> Bool {
        var digits = literal.utf8[...]
        if digits.first == UInt8(ascii: "-") {
            digits = digits.dropFirst()
        }
        return !digits.isEmpty && digits.allSatisfy { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
    }

    private func wrongType(_ field: String, expected: String, got value: JSONValue) -> FieldError {
        FieldError(field: field, code: "wrong_type", message: "'\(field)' must be \(expected), not \(value.typeDescription).")
    }
}

// MARK: - Shared state

/// The error budget shared by a root reader and all its nested readers.
private final class ErrorBudget {
    var kept = 0
}

/// One reader's object, which members were read, and its log of problems and nested readers in
/// the order they happened.
private final class ReaderState {
    enum Entry {
        case error(FieldError)
        case child(ReaderState)
    }

    let object: JSONObject?
    let path: String
    let budget: ErrorBudget
    var read: [Bool]
    var log: [Entry] = []
    /// Problems recorded here, including those dropped once the budget ran out.
    var errorCount = 0
    var finished = false

    init(object: JSONObject?, path: String, budget: ErrorBudget) {
        self.object = object
        self.path = path
        self.budget = budget
        self.read = Array(repeating: false, count: object?.count ?? 0)
    }

    func fieldPath(_ key: String) -> String {
        path.isEmpty ? key : "\(path).\(key)"
    }

    func record(_ error: FieldError) {
        errorCount += 1
        if budget.kept < JSONObjectReader.maxReportedErrors {
            budget.kept += 1
            log.append(.error(error))
        }
    }

    var subtreeErrorCount: Int {
        log.reduce(errorCount) { count, entry in
            if case .child(let child) = entry { count + child.subtreeErrorCount } else { count }
        }
    }

    func collect(into errors: inout [FieldError]) {
        for entry in log {
            switch entry {
            case .error(let error): errors.append(error)
            case .child(let child): child.collect(into: &errors)
            }
        }
    }

    func finish() {
        for case .child(let child) in log {
            child.finish()
        }
        guard !finished, let object else { return }
        finished = true
        for (index, entry) in object.entries.enumerated() where !read[index] {
            let field = fieldPath(entry.key)
            record(FieldError(field: field, code: "unknown_field", message: "'\(field)' is not a known field."))
        }
    }
}

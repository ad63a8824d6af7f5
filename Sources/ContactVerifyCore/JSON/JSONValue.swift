/// A JSON value exactly as a request sent it, produced by ``JSONParser``.
///
/// Numbers keep their literal text (`"1"`, `"1.0"` and `"1e0"` stay distinct), so readers can
/// insist on integer literals and nothing is rounded. Strings keep their Unicode scalars
/// unchanged (no normalization). Equality follows Swift: numbers compare by literal text,
/// strings by `String` equality (canonical equivalence), objects regardless of key order.
///
/// ```swift
/// let value = try JSONParser.parse(Array(#"{"limit": 10}"#.utf8))
/// value == .object(["limit": .number("10")])   // true
/// ```
public enum JSONValue: Sendable, Equatable {
    /// The literal `null`.
    case null
    /// The literal `true` or `false`.
    case bool(Bool)
    /// A number, as its literal text (valid per RFC 8259 when it came from ``JSONParser``).
    case number(String)
    /// A string, with escapes decoded.
    case string(String)
    /// An array, in document order.
    case array([JSONValue])
    /// An object, with its members in document order.
    case object(JSONObject)

    /// The JSON type name for messages: `null`, `boolean`, `number`, `string`, `array` or `object`.
    public var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "boolean"
        case .number: "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }

    /// The type name with an indefinite article ("a string", "an array", "null"), for messages.
    var typeDescription: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .number: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }
}

extension JSONValue: ExpressibleByNilLiteral {
    /// Creates ``null``.
    public init(nilLiteral: ()) {
        self = .null
    }
}

extension JSONValue: ExpressibleByBooleanLiteral {
    /// Creates a ``bool(_:)``.
    public init(booleanLiteral value: Bool) {
        self = .bool(value)
    }
}

extension JSONValue: ExpressibleByIntegerLiteral {
    /// Creates a ``number(_:)`` holding the integer's decimal text.
    public init(integerLiteral value: Int) {
        self = .number(String(value))
    }
}

extension JSONValue: ExpressibleByStringLiteral {
    /// Creates a ``string(_:)``.
    public init(stringLiteral value: String) {
        self = .string(value)
    }
}

extension JSONValue: ExpressibleByArrayLiteral {
    /// Creates an ``array(_:)``.
    public init(arrayLiteral elements: JSONValue...) {
        self = .array(elements)
    }
}

extension JSONValue: ExpressibleByDictionaryLiteral {
    /// Creates an ``object(_:)``; the keys must be unique.
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(JSONObject(uniqueKeysWithValues: elements))
    }
}

/// The members of a JSON object, in document order, with unique keys.
///
/// Keys are unique by construction: ``insert(_:forKey:)`` refuses a key that is already present
/// and ``JSONParser`` rejects documents that repeat one. Keys compare with `String` equality, so
/// two spellings of the same text in different Unicode normalization forms count as the same
/// key (the parser rejects such a pair as a duplicate rather than guess which one was meant).
/// Two objects are equal when they have the same keys with equal values, in any order.
public struct JSONObject: Sendable, Equatable {
    /// Objects up to this size are searched linearly; larger ones get a hash index.
    private static let linearLookupLimit = 8

    /// The members in document order.
    public private(set) var entries: [(key: String, value: JSONValue)]
    /// Key → position in `entries`, built once the object outgrows a linear search.
    private var index: [String: Int]?

    /// Creates an empty object.
    public init() {
        entries = []
        index = nil
    }

    /// Creates an object from key-value pairs in order; traps if a key repeats.
    public init(uniqueKeysWithValues pairs: some Sequence<(String, JSONValue)>) {
        self.init()
        for (key, value) in pairs {
            let inserted = insert(value, forKey: key)
            precondition(inserted, "Duplicate key in JSONObject(uniqueKeysWithValues:)")
        }
    }

    /// The number of members.
    public var count: Int { entries.count }

    /// Whether the object has no members.
    public var isEmpty: Bool { entries.isEmpty }

    /// The keys in document order.
    public var keys: [String] { entries.map(\.key) }

    /// The value for `key`, or `nil` when the object has no such member.
    public subscript(key: String) -> JSONValue? {
        index(forKey: key).map { entries[$0].value }
    }

    /// The position of `key` in ``entries``, or `nil` when absent.
    public func index(forKey key: String) -> Int? {
        if let index {
            return index[key]
        }
        return entries.firstIndex { $0.key == key }
    }

    /// Whether the object has a member named `key`.
    public func contains(key: String) -> Bool {
        index(forKey: key) != nil
    }

    /// Appends a member; returns `false` and changes nothing when `key` is already present.
    @discardableResult
    public mutating func insert(_ value: JSONValue, forKey key: String) -> Bool {
        guard index(forKey: key) == nil else { return false }
        appendUnchecked(value, forKey: key)
        return true
    }

    /// Appends a member whose key the caller has checked is not present.
    mutating func appendUnchecked(_ value: JSONValue, forKey key: String) {
        entries.append((key: key, value: value))
        if index != nil {
            index![key] = entries.count - 1
        } else if entries.count > Self.linearLookupLimit {
            var built = [String: Int](minimumCapacity: entries.count * 2)
            for (position, entry) in entries.enumerated() {
                built[entry.key] = position
            }
            index = built
        }
    }

    /// Same keys with equal values, in any order.
    public static func == (lhs: JSONObject, rhs: JSONObject) -> Bool {
        guard lhs.count == rhs.count else { return false }
        for (key, value) in lhs.entries {
            guard let other = rhs[key], other == value else { return false }
        }
        return true
    }
}

extension JSONObject: ExpressibleByDictionaryLiteral {
    /// Creates an object from a literal in order; traps if a key repeats.
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self.init(uniqueKeysWithValues: elements)
    }
}

extension JSONObject: Sequence {
    /// Iterates the members in document order.
    public func makeIterator() -> IndexingIterator<[(key: String, value: JSONValue)]> {
        entries.makeIterator()
    }
}

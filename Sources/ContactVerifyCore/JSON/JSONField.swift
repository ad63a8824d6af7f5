/// A request field that may be left out, set to `null`, or given a value — the three cases a
/// PATCH body must tell apart ("leave unchanged", "clear", "set").
///
/// ```swift
/// switch reader.nullableString("externalId", maxLength: 200) {
/// case .absent: break                       // keep the stored value
/// case .null: contact.externalId = nil      // clear it
/// case .value(let id): contact.externalId = id
/// }
/// ```
public enum JSONField<Wrapped> {
    /// The member was not in the object (or it was invalid and an error was recorded).
    case absent
    /// The member was the literal `null`.
    case null
    /// The member held a valid value.
    case value(Wrapped)

    /// Whether the member was left out.
    public var isAbsent: Bool {
        if case .absent = self { true } else { false }
    }

    /// Transforms a present value, keeping ``absent`` and ``null`` as they are.
    public func map<NewWrapped, Failure: Error>(
        _ transform: (Wrapped) throws(Failure) -> NewWrapped
    ) throws(Failure) -> JSONField<NewWrapped> {
        switch self {
        case .absent: .absent
        case .null: .null
        case .value(let wrapped): .value(try transform(wrapped))
        }
    }
}

extension JSONField: Sendable where Wrapped: Sendable {}

extension JSONField: Equatable where Wrapped: Equatable {}

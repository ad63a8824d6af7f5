import ContactVerifyCore

/// Reads every member of an object with one of the typed accessors of ``JSONObjectReader``,
/// as a controller would, choosing the accessor and its limits from the key so that the same
/// key always gets the same treatment and the fuzzer can steer towards each of them.
enum RequestWalk {
    /// Nested objects deeper than this are left unread (reported as unknown fields).
    static let maxDepth = 8

    /// Reads every member of `reader`'s object (recursing into nested objects and object
    /// arrays up to ``maxDepth``), then asks for a required `name`, as every create body does.
    static func read(_ reader: inout JSONObjectReader, depth: Int) {
        guard let keys = reader.object?.keys else { return }
        for key in keys {
            let required = key.hasPrefix("r")
            switch key.utf8.reduce(0, { ($0 &+ Int($1)) & 0xFFFF }) % 12 {
            case 0: _ = reader.string(key, required: required, maxLength: 16, nonEmpty: true)
            case 1: _ = reader.nullableString(key, maxLength: 320)
            case 2: _ = reader.enumString(key, allowed: ["email", "sms"], required: required)
            case 3: _ = reader.enumValue(key, as: VerificationChannel.self)
            case 4: _ = reader.int(key, required: required, range: 1...100)
            case 5: _ = reader.nullableInt(key)
            case 6: _ = reader.bool(key)
            case 7: _ = reader.nullableBool(key)
            case 8: _ = reader.stringArray(key, maxCount: 5, maxLength: 40)
            case 9: _ = reader.value(key)
            case 10:
                if depth < maxDepth, var nested = reader.object(key) { read(&nested, depth: depth + 1) }
            default:
                if depth < maxDepth, let items = reader.objectArray(key, maxCount: 5) {
                    for var item in items { read(&item, depth: depth + 1) }
                }
            }
        }
        _ = reader.string("name", required: true)
    }
}

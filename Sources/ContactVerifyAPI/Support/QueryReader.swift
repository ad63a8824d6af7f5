import ContactVerifyCore
import Hummingbird

/// Reads query parameters with the same field errors as bodies: repeated parameters,
/// unknown parameters, wrong types and out-of-range values are `400`s naming the parameter.
struct QueryReader {
    private let parameters: Parameters
    var errors: [FieldError] = []

    init(_ parameters: Parameters) {
        self.parameters = parameters
    }

    /// The single value of `name`, recording `repeated` when it appears twice.
    mutating func string(_ name: String, maxLength: Int) -> String? {
        let values = parameters.getAll(name)
        guard let value = values.first else { return nil }
        if values.count > 1 {
            errors.append(FieldError(field: name, code: "repeated", message: "\(name) may appear once."))
            return nil
        }
        if value.unicodeScalars.count > maxLength {
            errors.append(FieldError(field: name, code: "too_long", message: "\(name) is longer than \(maxLength) characters."))
            return nil
        }
        return String(value)
    }

    mutating func int(_ name: String, range: ClosedRange<Int>) -> Int? {
        guard let text = string(name, maxLength: 12) else { return nil }
        guard text.allSatisfy(\.isASCII), let value = Int(text), range.contains(value) else {
            errors.append(FieldError(field: name, code: "out_of_range", message: "\(name) must be an integer from \(range.lowerBound) to \(range.upperBound)."))
            return nil
        }
        return value
    }

    mutating func enumValue<T>(_ name: String, _ make: (String) -> T?, allowed: String) -> T? {
        guard let text = string(name, maxLength: 32) else { return nil }
        guard let value = make(text) else {
            errors.append(FieldError(field: name, code: "invalid_value", message: "\(name) must be one of: \(allowed)."))
            return nil
        }
        return value
    }

    /// Records unknown parameters and throws everything recorded.
    mutating func finish(allowed: Set<String>) throws(ServiceError) {
        var seen = Set<String>()
        for (key, _) in parameters where !allowed.contains(String(key)) && seen.insert(String(key)).inserted {
            errors.append(FieldError(field: String(key), code: "unknown_parameter", message: "Unknown query parameter."))
        }
        if !errors.isEmpty { throw ServiceError.validation(errors) }
    }
}

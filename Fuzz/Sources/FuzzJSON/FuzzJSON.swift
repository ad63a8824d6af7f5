import ContactVerifyCore
import FuzzSupport

/// Fuzzes the request JSON path: ``JSONParser``, ``JSONWriter`` and ``JSONObjectReader``.
///
/// Properties:
/// - the parser never crashes, whatever the bytes (invalid UTF-8, deep nesting, huge numbers…);
/// - what parses re-serializes consistently: `parse(serialize(v)) == v`, and serializing that
///   again gives the same bytes (the writer's output is a fixed point);
/// - a reader over the body, asked for every member with the typed accessors the controllers
///   use (chosen per key), never crashes, and `finish()` lists at most
///   ``JSONObjectReader/maxReportedErrors`` problems plus one `too_many_errors`.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSON(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = FuzzInput(data, size).bytes
    guard let value = try? JSONParser.parse(bytes) else {
        // What the controllers do with any body: a parse error is a validation error.
        _ = try? JSONObjectReader.parseObject(bytes)
        return 0
    }

    let text = JSONWriter.serialize(value)
    do {
        let reparsed = try JSONParser.parse(text)
        fuzzCheck(reparsed == value, "serialize then parse changed the value: \(value) → \(reparsed)")
        let again = JSONWriter.serialize(reparsed)
        fuzzCheck(
            again == text,
            "serialization is not a fixed point: \(String(decoding: text, as: UTF8.self).debugDescription) → "
                + String(decoding: again, as: UTF8.self).debugDescription)
    } catch {
        fuzzCheck(
            false,
            "the writer's output does not parse (\(error)): \(String(decoding: text, as: UTF8.self).debugDescription)")
    }

    var reader = JSONObjectReader(value)
    RequestWalk.read(&reader, depth: 0)
    do {
        try reader.finish()
    } catch {
        fuzzCheck(
            error.errors.count <= JSONObjectReader.maxReportedErrors + 1,
            "finish() listed \(error.errors.count) problems")
    }
    return 0
}

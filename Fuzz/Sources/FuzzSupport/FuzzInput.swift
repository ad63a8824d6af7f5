/// One libFuzzer input, as the fuzz targets read it.
///
/// Targets that need several values split the bytes at ``separator`` (0xFF, which never occurs
/// in UTF-8, so every field can still hold any text). Fields are decoded as UTF-8 with invalid
/// sequences repaired to U+FFFD, as Swift does for every `String` the service ever sees.
///
/// ```swift
/// @_cdecl("LLVMFuzzerTestOneInput")
/// public func test(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
///     let input = FuzzInput(data, size)
///     let (region, number) = (input.field(0), input.field(1))
///     …
///     return 0
/// }
/// ```
public struct FuzzInput {
    /// The byte between two fields.
    public static let separator: UInt8 = 0xFF

    /// The raw bytes.
    public let bytes: [UInt8]
    /// The bytes split at every ``separator`` (one field when there is none).
    public let fieldBytes: [ArraySlice<UInt8>]

    /// Copies the input libFuzzer passes to `LLVMFuzzerTestOneInput`.
    public init(_ data: UnsafePointer<UInt8>?, _ size: Int) {
        self.init(data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? [])
    }

    /// An input from bytes (for replaying one by hand).
    public init(_ bytes: [UInt8]) {
        self.bytes = bytes
        fieldBytes = bytes.split(separator: Self.separator, omittingEmptySubsequences: false)
    }

    /// The whole input as text.
    public var text: String { String(decoding: bytes, as: UTF8.self) }

    /// Field `index` as text, or `nil` when the input has fewer fields.
    public func field(_ index: Int) -> String? {
        fieldBytes.indices.contains(index) ? String(decoding: fieldBytes[index], as: UTF8.self) : nil
    }
}

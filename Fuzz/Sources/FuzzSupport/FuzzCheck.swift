#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Checks a property of the code under test; when it does not hold, prints `message` to
/// standard error and aborts, which libFuzzer reports as a crash and saves the input as
/// `crash-<sha1>` (the reproducer `scripts/fuzz` prints).
///
/// - Parameters:
///   - condition: The property.
///   - message: What was expected and what happened, with the values involved.
public func fuzzCheck(_ condition: Bool, _ message: @autoclosure () -> String) {
    guard !condition else { return }
    let line = Array("fuzz property failed: \(message())\n".utf8)
    _ = line.withUnsafeBufferPointer { write(STDERR_FILENO, $0.baseAddress, $0.count) }
    abort()
}

/// A setting that cannot work; start-up stops with this message.
public struct ConfigurationError: Error, CustomStringConvertible {
    /// What is wrong and how to fix it.
    public var description: String
    /// Creates the error with the message shown at start-up.
    public init(_ description: String) { self.description = description }
}

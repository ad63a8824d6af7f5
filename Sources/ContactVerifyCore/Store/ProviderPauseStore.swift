import Foundation

/// The pauses providers asked for (a gateway's `429`/`503` with `Retry-After`, security.md
/// F14–F15), kept where every instance on one database sees them: a pause one instance meets
/// holds back the others too.
///
/// A pause is a wall-clock instant per provider name (`twilio`, `kannel`, `smtp`, …), so
/// instances on several hosts rely on their clocks agreeing (NTP); a skew shortens or lengthens
/// the pause by that much.
public protocol ProviderPauseStore: Sendable {
    /// Records that `provider` takes no attempt before `until`, atomically: a pause already
    /// recorded that ends later wins, so a shorter `Retry-After` never cuts a longer one.
    func recordProviderPause(provider: String, until: Date) async throws

    /// The end of the pause in force for `provider` at `now`, or `nil` when none is (never
    /// recorded, or over).
    func providerPause(provider: String, now: Date) async throws -> Date?
}

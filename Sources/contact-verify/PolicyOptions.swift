import ArgumentParser
import ContactVerifyCore

/// The limits and lifetimes of design §4, each with its flag, variable and default.
struct PolicyOptions: ParsableArguments {
    @Option(name: .customLong("code-digits"), help: "Digits in a code, 4–10. (env: CONTACT_VERIFY_CODE_DIGITS; default: 6)")
    var codeDigits: Int?

    @Option(name: .customLong("code-lifetime"), help: "Seconds a code stays valid. (env: CONTACT_VERIFY_CODE_LIFETIME; default: 600)")
    var codeLifetime: Int?

    @Option(name: .customLong("link-lifetime"), help: "Seconds a link stays valid. (env: CONTACT_VERIFY_LINK_LIFETIME; default: 86400)")
    var linkLifetime: Int?

    @Option(name: .customLong("max-checks"), help: "Code checks per verification before max_attempts_reached. (env: CONTACT_VERIFY_MAX_CHECKS; default: 5)")
    var maxChecks: Int?

    @Option(name: .customLong("max-failed-checks"), help: "Wrong codes in a row on one address, across resends, before it is locked. (env: CONTACT_VERIFY_MAX_FAILED_CHECKS; default: 100)")
    var maxFailedChecks: Int?

    @Option(name: .customLong("lock-duration"), help: "Seconds an address stays locked unless an admin unlocks it. (env: CONTACT_VERIFY_LOCK_DURATION; default: 86400)")
    var lockDuration: Int?

    @Option(name: .customLong("max-sends"), help: "Sends per verification (the first and its resends). (env: CONTACT_VERIFY_MAX_SENDS; default: 5)")
    var maxSends: Int?

    @Option(name: .customLong("resend-cooldown"), help: "Seconds before the first resend; doubles after each. (env: CONTACT_VERIFY_RESEND_COOLDOWN; default: 30)")
    var resendCooldown: Int?

    @Option(name: .customLong("max-sends-per-address"), help: "Messages to one address per 24 hours. (env: CONTACT_VERIFY_MAX_SENDS_PER_ADDRESS; default: 10)")
    var maxSendsPerAddress: Int?

    /// The policy from flags, variables and the config file, over the defaults.
    func policy(_ settings: SettingsSource) throws -> VerificationPolicy {
        var policy = VerificationPolicy()
        func read(_ flag: String, _ value: Int?, _ range: ClosedRange<Int>) throws -> Int? {
            guard let number = try settings.int(flag, value) else { return nil }
            guard range.contains(number) else { throw ValidationError("--\(flag) must be \(range.lowerBound)–\(range.upperBound).") }
            return number
        }
        let day = 86_400
        if let v = try read("code-digits", codeDigits, SecretDeriver.digitRange) { policy.codeDigits = v }
        if let v = try read("code-lifetime", codeLifetime, 30...day) { policy.codeLifetime = Double(v) }
        if let v = try read("link-lifetime", linkLifetime, 60...(30 * day)) { policy.linkLifetime = Double(v) }
        if let v = try read("max-checks", maxChecks, 1...100) { policy.maxChecksPerVerification = v }
        if let v = try read("max-failed-checks", maxFailedChecks, 1...10_000) { policy.maxConsecutiveFailures = v }
        if let v = try read("lock-duration", lockDuration, 60...(365 * day)) { policy.lockDuration = Double(v) }
        if let v = try read("max-sends", maxSends, 1...100) { policy.maxSendsPerVerification = v }
        if let v = try read("resend-cooldown", resendCooldown, 0...day) { policy.resendCooldown = Double(v) }
        if let v = try read("max-sends-per-address", maxSendsPerAddress, 1...10_000) { policy.maxSendsPerAddressPerDay = v }
        return policy
    }
}

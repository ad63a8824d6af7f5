/// Re-derives the code or link token a verification's messages carry, from its nonce and the
/// server secret, so nothing secret is ever stored (design §4).
public struct VerificationSecrets: Sendable {
    let deriver: SecretDeriver
    let codeDigits: Int

    public init(secret: ServerSecret, codeDigits: Int) {
        deriver = SecretDeriver(secret: secret)
        self.codeDigits = codeDigits
    }

    /// The code (method `code`) or link token (method `link`) of `verification`.
    public func secret(for verification: Verification) -> String {
        switch verification.method {
        case .code: deriver.code(nonce: verification.nonce, digits: codeDigits)
        case .link: deriver.linkToken(nonce: verification.nonce)
        }
    }
}

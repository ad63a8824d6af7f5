import CoreMetrics
import Foundation

/// Starts, checks, cancels and confirms verifications (design §3–4).
///
/// Secrets: a verification keeps a random nonce; its code or link token is derived from that
/// nonce with the server secret (``SecretDeriver``), so a resend or a retried delivery carries
/// the same secret and no plaintext is stored. Codes are kept as argon2id hashes (computed in
/// the bounded ``HashingPool``, never on an event loop); link tokens as SHA-256 lookup keys.
public struct VerificationService: Sendable {
    public typealias FullStore = Store & VerificationStore

    let store: any FullStore
    let clock: any WallClock
    public let policy: VerificationPolicy
    let deriver: SecretDeriver
    let hasher: CodeHasher
    let pool: HashingPool
    let phones = PhoneNumberNormalizer()
    /// Picks the template locale from candidates (request, contact, account), falling back to `en`.
    let resolveLocale: @Sendable ([String?]) -> String
    /// Called after a message was queued, to wake the outbox worker.
    let onEnqueue: @Sendable () -> Void
    /// Where `verifications_total{event}` is counted.
    let metrics: any MetricsFactory

    public init(
        store: any FullStore, clock: any WallClock, policy: VerificationPolicy, secret: ServerSecret, pool: HashingPool,
        argon2: Argon2Parameters = .owasp, resolveLocale: @escaping @Sendable ([String?]) -> String,
        onEnqueue: @escaping @Sendable () -> Void, metrics: any MetricsFactory = NOOPMetricsHandler.instance
    ) {
        self.store = store
        self.clock = clock
        self.policy = policy
        deriver = SecretDeriver(secret: secret)
        hasher = CodeHasher(secret: secret, parameters: argon2)
        self.pool = pool
        self.resolveLocale = resolveLocale
        self.onEnqueue = onEnqueue
        self.metrics = metrics
    }

    /// Counts one event of a verification's life (`started`, `resent`, `approved`, …).
    func count(_ event: String) {
        Counter(label: "verifications_total", dimensions: [("event", event)], factory: metrics).increment()
    }

    /// How many argon2 jobs run at once (the hashing pool's workers).
    public var hashingConcurrency: Int { pool.maxConcurrent }

    /// Argon2 jobs running and waiting now, for the hashing-queue gauges.
    public var hashingLoad: (running: Int, waiting: Int) { (pool.running, pool.waiting) }

    // MARK: Start and resend

    /// Starts a verification, or resends the pending one of the same method (same secret).
    /// With `idempotency`, the store records the verification's id on that `Idempotency-Key`
    /// claim in the start's transaction.
    public func start(
        in account: Account, contactID: String, channel: VerificationChannel, method: VerificationMethod,
        locale: String?, batchID: String? = nil, idempotency: IdempotencyMark? = nil
    ) async throws -> Verification {
        // A new verification needs a secret, and the write that finds out runs again once one
        // is prepared. A link's secret costs one HMAC, so it is prepared up front (one write
        // instead of two for every new link, the whole of a batch); a code's costs an argon2
        // hash, which a resend (same secret) must not pay, so it is prepared only when needed.
        var prepared: PreparedSecret? = method == .link ? try await prepareSecret(.link) : nil
        while true {
            do {
                let secret = prepared
                let policy = policy
                // The request is made from the contact as the write reads it (no read before the
                // write: one store round trip and thread hop fewer per start, a batch's every item).
                let write = try await store.startVerification(accountID: account.id, contactID: contactID, channel: channel, now: clock.now()) {
                    contact, open, counters in
                    let request = startRequest(
                        for: contact, in: account, channel: channel, method: method, locale: locale, batchID: batchID)
                    var write = try VerificationRules.start(
                        contact: &contact, open: open, counters: counters, request: request, prepared: secret, policy: policy, now: clock.now())
                    write.idempotency = idempotency
                    return write
                }
                onEnqueue()
                count(write.kind == .create ? "started" : "resent")
                return write.verification
            } catch is VerificationRules.SecretNeeded {
                guard prepared == nil else { throw ServiceError(.unavailable, code: "internal_error", detail: "Could not prepare a secret.") }
                prepared = try await prepareSecret(method)
            }
        }
    }

    /// What a start asks for: the template locale (request, contact, account, then `en`) and,
    /// when the account limits SMS to some countries, the contact's phone region (parsed only then).
    private func startRequest(
        for contact: Contact, in account: Account, channel: VerificationChannel, method: VerificationMethod, locale: String?,
        batchID: String?
    ) -> StartRequest {
        let phoneRegion =
            channel == .sms && account.allowedCountries != nil
            ? contact.phone.flatMap { try? phones.normalize($0.value, defaultRegion: nil).regionCode } : nil
        return StartRequest(
            account: account, channel: channel, method: method, locale: resolveLocale([locale, contact.locale, account.locale]),
            phoneRegion: phoneRegion, batchID: batchID)
    }

    /// A fresh nonce and the stored form of the secret it derives.
    func prepareSecret(_ method: VerificationMethod) async throws -> PreparedSecret {
        let nonce = SecretDeriver.randomNonce()
        switch method {
        case .link:
            return PreparedSecret(nonce: nonce, tokenKey: SecretDeriver.tokenLookupKey(deriver.linkToken(nonce: nonce)))
        case .code:
            let code = deriver.code(nonce: nonce, digits: policy.codeDigits)
            let hasher = hasher
            let hash = try await hashing { hasher.hash(code) }
            return PreparedSecret(nonce: nonce, codeHash: hash)
        }
    }

    // MARK: Checks

    /// Checks a code. Returns the approved verification; every other outcome throws the
    /// error of design §3 (`422 code_mismatch`, `429 max_attempts_reached`, `410 …`).
    ///
    /// The argon2 comparison runs whether or not the verification exists (against a dummy
    /// hash when it does not), so timing does not tell an attacker which ids exist.
    public func check(in account: Account, verificationID: String, code: String) async throws -> Verification {
        guard code.utf8.count >= SecretDeriver.digitRange.lowerBound, code.utf8.count <= SecretDeriver.digitRange.upperBound,
            code.utf8.allSatisfy({ (0x30...0x39).contains($0) })
        else {
            throw ServiceError.invalid("code", code: "invalid_code_format", "The code must be a string of 4 to 10 ASCII digits.")
        }
        let verification = try await store.verification(accountID: account.id, id: verificationID)
        let hasher = hasher
        let phc = verification?.codeHash
        let matched = try await hashing { () -> Bool in
            guard let phc else {
                hasher.dummyVerify(code)
                return false
            }
            return hasher.verify(code, phc: phc)
        }
        guard let verification, verification.method == .code else { throw ServiceError.notFound("verification") }
        let policy = policy
        let now = clock.now()
        let outcome = try await store.updateVerification(id: verification.id, now: now) { v, contact in
            VerificationRules.check(&v, contact: &contact, matched: matched, policy: policy, now: now)
        }
        count(Self.event(outcome))
        switch outcome {
        case .approved:
            return try await store.verification(accountID: account.id, id: verification.id) ?? verification
        case .mismatch(let remaining):
            throw ServiceError(
                .unprocessable, code: "code_mismatch", detail: "The code is not correct.",
                errors: [FieldError(field: "code", code: "code_mismatch", message: "The code is not correct.")],
                extra: ["attemptsRemaining": .int(remaining)])
        case .maxAttemptsReached:
            throw ServiceError(
                .tooManyRequests, code: "max_attempts_reached", detail: "Too many wrong codes; start a new verification.",
                extra: ["attemptsRemaining": .int(0)], retryAfter: VerificationRules.seconds(until: verification.expiresAt, from: now))
        case .addressLocked(let until):
            throw ServiceError.addressLocked(until: until, now: now)
        case .expired:
            throw ServiceError(.gone, code: "verification_expired", detail: "The verification expired; start a new one.")
        case .canceled:
            throw ServiceError(.gone, code: "verification_canceled", detail: "The verification was canceled.")
        case .notPending:
            throw ServiceError(.gone, code: "verification_not_pending", detail: "The verification is no longer pending.")
        }
    }

    private static func event(_ outcome: CheckOutcome) -> String {
        switch outcome {
        case .approved: "approved"
        case .mismatch: "code_mismatch"
        case .maxAttemptsReached: "max_attempts_reached"
        case .addressLocked: "address_locked"
        case .expired, .canceled, .notPending: "check_not_pending"
        }
    }

    /// Cancels a pending verification.
    public func cancel(in account: Account, verificationID: String) async throws -> Verification {
        guard try await store.verification(accountID: account.id, id: verificationID) != nil else {
            throw ServiceError.notFound("verification")
        }
        let canceled = try await store.updateVerification(id: verificationID, now: clock.now()) { v, contact in
            guard v.status == .pending else { return false }
            VerificationRules.end(&v, as: .canceled, contact: &contact)
            return true
        }
        guard canceled else {
            throw ServiceError(.conflict, code: "verification_not_pending", detail: "Only a pending verification can be canceled.")
        }
        return try await store.verification(accountID: account.id, id: verificationID)!
    }

    // MARK: Links

    /// The verification a link token belongs to, if the token is well-formed and known.
    public func verification(forToken token: String) async throws -> Verification? {
        guard let key = Self.lookupKey(forToken: token) else { return nil }
        return try await store.verification(tokenKey: key)
    }

    /// The store's lookup key for a well-formed link token; `nil` for anything else.
    private static func lookupKey(forToken token: String) -> [UInt8]? {
        guard token.utf8.count == SecretDeriver.linkTokenLength, Base64URL.decode(token) != nil else { return nil }
        return SecretDeriver.tokenLookupKey(token)
    }

    /// Whether a link page should offer confirmation (`confirmed` meaning "still confirmable"),
    /// say "already verified", or show the generic invalid page. Changes nothing.
    public func linkState(_ verification: Verification?) async throws -> LinkOutcome {
        guard var v = verification else { return .invalid }
        var contact = try await store.contact(accountID: v.accountID, id: v.contactID)
        let outcome = VerificationRules.confirmLink(&v, contact: &contact, now: clock.now())
        return outcome
    }

    /// Confirms a link token: exactly one caller confirms, later ones hear "already verified".
    /// Returns the verification as saved, or `nil` when the token is unknown.
    ///
    /// The token is looked up inside the write itself, which decides under the lock. A link
    /// that can no longer confirm anything (expired, superseded) changes nothing; the expiry
    /// sweep records the expiry. On SQLite such a write writes no page and waits for its group's
    /// commit as an unknown token's lookup does; on PostgreSQL its row locks still make a
    /// durable commit, which an unknown token's lookup does not.
    public func confirm(token: String) async throws -> (LinkOutcome, Verification?) {
        guard let key = Self.lookupKey(forToken: token) else { return (.invalid, nil) }
        let now = clock.now()
        guard let (outcome, verification) = try await store.updateVerification(
            tokenKey: key, now: now,
            { v, contact -> LinkOutcome in
                if VerificationRules.linkIsSpent(v, now: now) { return .invalid }
                return VerificationRules.confirmLink(&v, contact: &contact, now: now)
            })
        else { return (.invalid, nil) }
        if outcome == .confirmed { count("approved") }
        return (outcome, verification)
    }

    // MARK: Admin

    /// Clears an address lock and its failure count.
    public func unlock(in account: Account, contactID: String, channel: VerificationChannel) async throws -> Contact {
        try await store.updateContact(accountID: account.id, id: contactID, now: clock.now()) { contact in
            guard contact[channel.addressChannel] != nil else {
                throw ServiceError.invalid("channel", code: "no_address", "The contact has no address for this channel.")
            }
            contact[channel.addressChannel]?.lockedUntil = nil
            contact[channel.addressChannel]?.failedChecks = 0
        }
    }

    private func hashing<T: Sendable>(_ work: @escaping @Sendable () -> T) async throws -> T {
        do {
            return try await pool.run(work)
        } catch {
            throw ServiceError(.unavailable, code: "hashing_busy", detail: "The service is busy; try again shortly.", retryAfter: 1)
        }
    }
}

import Foundation

/// A secret made before the transaction (argon2 is too slow to run inside it).
public struct PreparedSecret: Sendable {
    public var nonce: [UInt8]
    public var codeHash: String?
    public var tokenKey: [UInt8]?

    public init(nonce: [UInt8], codeHash: String? = nil, tokenKey: [UInt8]? = nil) {
        self.nonce = nonce
        self.codeHash = codeHash
        self.tokenKey = tokenKey
    }
}

/// What the caller asked for when starting a verification.
public struct StartRequest: Sendable {
    public var account: Account
    public var channel: VerificationChannel
    public var method: VerificationMethod
    public var locale: String
    /// Region of the phone number, for the SMS geo allow-list (needed only when the account has one).
    public var phoneRegion: String?
    public var batchID: String?

    public init(account: Account, channel: VerificationChannel, method: VerificationMethod, locale: String, phoneRegion: String? = nil, batchID: String? = nil) {
        self.account = account
        self.channel = channel
        self.method = method
        self.locale = locale
        self.phoneRegion = phoneRegion
        self.batchID = batchID
    }
}

/// The answer to a code check.
public enum CheckOutcome: Sendable, Equatable {
    case approved
    case mismatch(attemptsRemaining: Int)
    case maxAttemptsReached
    case addressLocked(until: Date)
    case expired
    case canceled
    case notPending
}

/// The answer to a link confirmation.
public enum LinkOutcome: Sendable, Equatable {
    case confirmed
    case alreadyVerified
    case invalid
}

/// The state machine of design §1 and the limits of §4, as pure functions over the rows a
/// store transaction loaded. Stores run them inside the transaction; nothing here does I/O.
///
/// Rules that refuse a start throw; rules that must record something even when they refuse
/// (a counted wrong code, an expiry) return an outcome instead, because a throwing closure's
/// changes are rolled back.
public enum VerificationRules {
    /// Raised inside a start transaction when a new verification is needed but no secret was
    /// prepared (the pre-read saw a resend that is no longer possible); the caller prepares one
    /// and tries again.
    public struct SecretNeeded: Error {}

    // MARK: Start and resend

    public static func start(
        contact: inout Contact, open: Verification?, counters: SendCounters, request: StartRequest,
        prepared: PreparedSecret?, policy: VerificationPolicy, now: Date
    ) throws -> VerificationWrite {
        let channel = request.channel
        guard let address = contact[channel.addressChannel] else {
            throw ServiceError(
                .badRequest, code: "no_address", detail: "The contact has no \(channel == .email ? "email address" : "phone number").",
                errors: [FieldError(field: "channel", code: "no_address", message: "The contact has no address for this channel.")])
        }
        if address.status == .verified {
            throw ServiceError(.conflict, code: "already_verified", detail: "This address is already verified.")
        }
        if let lockedUntil = address.lockedUntil, lockedUntil > now {
            throw ServiceError.addressLocked(until: lockedUntil, now: now)
        }
        if channel == .sms {
            guard address.phoneType?.canReceiveSMS ?? false else {
                throw ServiceError(
                    .badRequest, code: "not_mobile", detail: "This phone number cannot receive SMS.",
                    errors: [FieldError(field: "channel", code: "not_mobile", message: "The number's type cannot receive SMS.")])
            }
            if let allowed = request.account.allowedCountries, !allowed.contains(request.phoneRegion ?? "") {
                throw ServiceError(
                    .badRequest, code: "country_not_allowed", detail: "The account does not send SMS to this country.",
                    errors: [FieldError(field: "channel", code: "country_not_allowed", message: "The number's country is not in the account's allow-list.")])
            }
        }
        try checkSendCaps(counters: counters, channel: channel, account: request.account, policy: policy, now: now)

        if var resend = open, resend.status == .pending, !hasRunOut(resend, now: now), resend.method == request.method,
            resend.addressKey == address.key
        {
            if resend.sendCount >= policy.maxSendsPerVerification {
                throw ServiceError(
                    .tooManyRequests, code: "send_limit_reached",
                    detail: "This verification was sent \(resend.sendCount) times; check the code or wait for it to expire.",
                    retryAfter: seconds(until: resend.expiresAt, from: now))
            }
            let allowedAt = resend.lastSentAt.addingTimeInterval(policy.cooldown(afterSend: resend.sendCount))
            if allowedAt > now {
                throw ServiceError(
                    .tooManyRequests, code: "resend_cooldown", detail: "Wait before sending this verification again.",
                    retryAfter: seconds(until: allowedAt, from: now))
            }
            resend.sendCount += 1
            resend.lastSentAt = now
            return VerificationWrite(kind: .resend, verification: resend, message: message(for: resend, now: now), batchID: request.batchID)
        }

        guard let prepared, (request.method == .code) == (prepared.codeHash != nil) else { throw SecretNeeded() }
        let verification = Verification(
            id: Verification.makeID(), accountID: contact.accountID, contactID: contact.id, channel: channel,
            method: request.method, address: address.value, addressKey: address.key, locale: request.locale,
            nonce: prepared.nonce, codeHash: prepared.codeHash, tokenKey: prepared.tokenKey, lastSentAt: now,
            createdAt: now, expiresAt: now.addingTimeInterval(policy.lifetime(of: request.method)), batchID: request.batchID)
        contact[channel.addressChannel]?.status = .pending
        return VerificationWrite(kind: .create, verification: verification, message: message(for: verification, now: now), batchID: request.batchID)
    }

    static func checkSendCaps(counters: SendCounters, channel: VerificationChannel, account: Account, policy: VerificationPolicy, now: Date) throws {
        if counters.addressSendsLast24h >= policy.maxSendsPerAddressPerDay {
            throw ServiceError(
                .tooManyRequests, code: "address_send_limit_reached",
                detail: "This address received \(policy.maxSendsPerAddressPerDay) messages in the last 24 hours.", retryAfter: 3600)
        }
        if channel == .sms && counters.accountSMSToday >= account.dailySmsLimit {
            let midnight = (now.timeIntervalSince1970 / 86_400).rounded(.down) * 86_400 + 86_400
            throw ServiceError(
                .tooManyRequests, code: "daily_sms_limit_reached", detail: "The account reached its daily SMS limit.",
                retryAfter: seconds(until: Date(timeIntervalSince1970: midnight), from: now))
        }
    }

    static func message(for verification: Verification, now: Date) -> OutboxMessage {
        OutboxMessage(
            id: OutboxMessage.makeID(), accountID: verification.accountID, verificationID: verification.id,
            channel: verification.channel, nextAttemptAt: now, expiresAt: verification.expiresAt, createdAt: now, updatedAt: now)
    }

    // MARK: Checks

    /// How far the clock may read before a verification's creation (instances' clocks differ
    /// a little) before its secret counts as run out.
    public static let clockStepAllowance: TimeInterval = 60

    /// Whether `verification`'s secret can no longer be used at `now`: its lifetime is over,
    /// or the clock reads more than ``clockStepAllowance`` before the verification was
    /// created. Then the wall clock was stepped back (security.md F26), so how long the
    /// secret has really lived is unknown, and a step back of an hour would otherwise keep a
    /// code valid for an hour more than its lifetime. Expiry stays a wall-clock instant in
    /// the store, which every instance and a restart can read.
    public static func hasRunOut(_ verification: Verification, now: Date) -> Bool {
        now >= verification.expiresAt || now < verification.createdAt.addingTimeInterval(-clockStepAllowance)
    }

    /// Applies one code check whose argon2 comparison (`matched`) ran before the transaction.
    public static func check(
        _ verification: inout Verification, contact: inout Contact?, matched: Bool, policy: VerificationPolicy, now: Date
    ) -> CheckOutcome {
        switch verification.status {
        case .pending: break
        case .expired: return .expired
        case .canceled: return .canceled
        case .maxAttemptsReached: return .maxAttemptsReached
        case .approved, .failed: return .notPending
        }
        if hasRunOut(verification, now: now) {
            end(&verification, as: .expired, contact: &contact)
            return .expired
        }
        let channel = verification.channel.addressChannel
        guard var address = contact?[channel], address.key == verification.addressKey else {
            end(&verification, as: .canceled, contact: &contact)
            return .canceled
        }
        if let lockedUntil = address.lockedUntil, lockedUntil > now { return .addressLocked(until: lockedUntil) }
        if verification.attempts >= policy.maxChecksPerVerification {
            end(&verification, as: .maxAttemptsReached, contact: &contact)
            return .maxAttemptsReached
        }
        if matched {
            approve(&verification, address: &address, now: now)
            contact?[channel] = address
            return .approved
        }
        verification.attempts += 1
        address.failedChecks += 1
        var locked: Date?
        if address.failedChecks >= policy.maxConsecutiveFailures {
            locked = now.addingTimeInterval(policy.lockDuration)
            address.lockedUntil = locked
        }
        contact?[channel] = address
        if let locked {
            end(&verification, as: .canceled, contact: &contact)
            return .addressLocked(until: locked)
        }
        if verification.attempts >= policy.maxChecksPerVerification {
            end(&verification, as: .maxAttemptsReached, contact: &contact)
            return .maxAttemptsReached
        }
        return .mismatch(attemptsRemaining: policy.maxChecksPerVerification - verification.attempts)
    }

    // MARK: Links

    /// Whether a link can no longer confirm anything, whatever the contact: its verification
    /// ended without approval, or it ran out (``confirmLink(_:contact:now:)`` answers both
    /// `.invalid`). Decidable from the verification alone, without a write.
    public static func linkIsSpent(_ verification: Verification, now: Date) -> Bool {
        switch verification.status {
        case .pending: hasRunOut(verification, now: now)
        case .approved: false
        case .expired, .canceled, .maxAttemptsReached, .failed: true
        }
    }

    /// Applies one link confirmation (the token already matched this verification).
    public static func confirmLink(_ verification: inout Verification, contact: inout Contact?, now: Date) -> LinkOutcome {
        let channel = verification.channel.addressChannel
        switch verification.status {
        case .approved:
            let stillVerified = contact?[channel]?.key == verification.addressKey && contact?[channel]?.status == .verified
            return stillVerified && now < verification.expiresAt ? .alreadyVerified : .invalid
        case .pending:
            if hasRunOut(verification, now: now) {
                end(&verification, as: .expired, contact: &contact)
                return .invalid
            }
            guard var address = contact?[channel], address.key == verification.addressKey else {
                end(&verification, as: .canceled, contact: &contact)
                return .invalid
            }
            approve(&verification, address: &address, now: now)
            contact?[channel] = address
            return .confirmed
        case .expired, .canceled, .maxAttemptsReached, .failed:
            return .invalid
        }
    }

    // MARK: Endings

    /// Approves a verification and marks its address verified, clearing failures and locks.
    static func approve(_ verification: inout Verification, address: inout ContactAddress, now: Date) {
        verification.status = .approved
        verification.approvedAt = now
        address.status = .verified
        address.verifiedAt = now
        address.failedChecks = 0
        address.lockedUntil = nil
    }

    /// Ends a pending verification as `status`; its address leaves `pending` if it still
    /// belongs to this verification.
    public static func end(_ verification: inout Verification, as status: VerificationStatus, contact: inout Contact?) {
        guard verification.status == .pending else { return }
        verification.status = status
        let channel = verification.channel.addressChannel
        if contact?[channel]?.key == verification.addressKey, contact?[channel]?.status == .pending {
            contact?[channel]?.status = .notVerified
        }
    }

    /// Whole seconds from `now` until `date`, at least 1 (for `Retry-After`).
    public static func seconds(until date: Date, from now: Date) -> Int {
        max(1, Int(date.timeIntervalSince(now).rounded(.up)))
    }
}

extension ServiceError {
    /// Too many wrong codes on this address; it is locked until `until`.
    public static func addressLocked(until: Date, now: Date) -> ServiceError {
        ServiceError(
            .tooManyRequests, code: "address_locked",
            detail: "Too many wrong codes for this address; it is locked until an admin unlocks it or the lock expires.",
            retryAfter: VerificationRules.seconds(until: until, from: now))
    }
}

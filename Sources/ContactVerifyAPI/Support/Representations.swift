import ContactVerifyCore
import ContactVerifyDelivery
import Foundation

/// The JSON shapes of design §3. Field names are part of the contract.
enum Representation {
    static func account(_ a: Account) -> JSONValue {
        .object([
            "id": .string(a.id),
            "displayName": .string(a.displayName),
            "defaultRegion": .nullable(a.defaultRegion),
            "locale": .string(a.locale),
            "allowedCountries": a.allowedCountries.map { .array($0.map(JSONValue.string)) } ?? .null,
            "dailySmsLimit": .int(a.dailySmsLimit),
            "callbackUrl": .nullable(a.callbackURL),
            "hasCallbackSecret": .bool(a.callbackSecret != nil),
            "createdAt": .date(a.createdAt),
            "updatedAt": .date(a.updatedAt),
        ])
    }

    static func address(_ address: ContactAddress?, channel: AddressChannel, now: Date) -> JSONValue {
        guard let address else { return .null }
        var object: JSONObject = [
            "address": .string(address.value),
            "status": .string(address.status.rawValue),
            "verifiedAt": .date(address.verifiedAt),
            "locked": .bool(address.isLocked(at: now)),
        ]
        if channel == .phone {
            _ = object.insert(.string(address.phoneType?.rawValue ?? PhoneNumberType.unknown.rawValue), forKey: "type")
        }
        return .object(object)
    }

    static func contact(_ c: Contact, now: Date) -> JSONValue {
        .object([
            "id": .string(c.id),
            "name": .string(c.name),
            "locale": .nullable(c.locale),
            "externalId": .nullable(c.externalID),
            "email": address(c.email, channel: .email, now: now),
            "phone": address(c.phone, channel: .phone, now: now),
            "webhooks": .array(c.webhooks.map(webhook)),
            "createdAt": .date(c.createdAt),
            "updatedAt": .date(c.updatedAt),
        ])
    }

    /// A chatbot webhook: its URL masked (it is a credential) and its secret never shown.
    static func webhook(_ w: ContactWebhook) -> JSONValue {
        .object([
            "id": .string(w.id),
            "kind": .string(w.kind.rawValue),
            "name": .string(w.name),
            "url": .string(w.maskedURL),
            "hasSecret": .bool(w.sealedSecret != nil),
            "status": .string(w.status.rawValue),
            "verifiedAt": .date(w.verifiedAt),
            "lastTest": w.testedAt.map { (testedAt: Date) -> JSONValue in
                .object([
                    "at": .date(testedAt), "providerCode": .nullable(w.lastProviderCode), "message": .nullable(w.lastMessage),
                ])
            } ?? .null,
            "createdAt": .date(w.createdAt),
            "updatedAt": .date(w.updatedAt),
        ])
    }

    static func verification(_ v: Verification, message: OutboxMessage?, policy: VerificationPolicy) -> JSONValue {
        let canResend = v.status == .pending && v.sendCount < policy.maxSendsPerVerification
        let delivery: JSONValue = message.map { m in
            .object([
                "status": .string(m.status.rawValue),
                "attempts": .int(m.attempts),
                "lastError": m.lastErrorCode.map { code in
                    .object(["code": .string(code), "message": .string(m.lastErrorMessage ?? "")])
                } ?? .null,
            ])
        } ?? .null
        return .object([
            "id": .string(v.id),
            "contactId": .string(v.contactID),
            "channel": .string(v.channel.rawValue),
            "method": .string(v.method.rawValue),
            "status": .string(v.status.rawValue),
            "to": .string(MIMEMessage.maskedAddress(v.address, channel: v.channel)),
            "expiresAt": .date(v.expiresAt),
            "sendCount": .int(v.sendCount),
            "attemptsRemaining": .int(v.method == .code ? max(0, policy.maxChecksPerVerification - v.attempts) : 0),
            "nextResendAt": .date(canResend ? v.lastSentAt.addingTimeInterval(policy.cooldown(afterSend: v.sendCount)) : nil),
            "createdAt": .date(v.createdAt),
            "approvedAt": .date(v.approvedAt),
            "delivery": delivery,
        ])
    }

    static func batch(_ b: Batch, counts: BatchCounts) -> JSONValue {
        .object([
            "id": .string(b.id),
            "status": .string(b.status.rawValue),
            "channel": .string(b.channel.rawValue),
            "method": .string(b.method.rawValue),
            "total": .int(b.total),
            "counts": .object(JSONObject(uniqueKeysWithValues: BatchCounts.Bucket.allCases.map { ($0.rawValue, .int(counts[$0])) })),
            "createdAt": .date(b.createdAt),
            "completedAt": .date(b.completedAt),
        ])
    }

    static func batchItem(_ item: BatchItem) -> JSONValue {
        .object([
            "contactId": .string(item.contactID),
            "outcome": .string(item.outcome.rawValue),
            "verificationId": .nullable(item.verificationID),
            "error": item.errorCode.map { .object(["code": .string($0), "message": .string(item.errorMessage ?? "")]) } ?? .null,
        ])
    }

    static func page<T>(_ page: Page<T>, _ item: (T) -> JSONValue) -> JSONValue {
        .object([
            "items": .array(page.items.map(item)),
            "nextCursor": .nullable(page.nextCursor),
        ])
    }
}

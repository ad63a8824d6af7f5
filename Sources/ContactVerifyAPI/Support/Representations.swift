import ContactVerifyCore
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
            "webhooks": .array([]),
            "createdAt": .date(c.createdAt),
            "updatedAt": .date(c.updatedAt),
        ])
    }

    static func page<T>(_ page: Page<T>, _ item: (T) -> JSONValue) -> JSONValue {
        .object([
            "items": .array(page.items.map(item)),
            "nextCursor": .nullable(page.nextCursor),
        ])
    }
}

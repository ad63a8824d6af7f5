import ContactVerifyCore
import Foundation

extension Contact {
    /// This contact after `change`, as both stores save it: the change cannot move it to
    /// another id or account, nor alter when it was created; `updatedAt` becomes `now`.
    func changed(at now: Date, by change: (inout Contact) throws -> Void) rethrows -> Contact {
        var new = self
        try change(&new)
        new.id = id
        new.accountID = accountID
        new.createdAt = createdAt
        new.updatedAt = now
        return new
    }
}

import ContactVerifyCore
import Foundation
import Logging
import PostgresNIO

/// Verification updates (a link confirmed, a code checked) run in groups: the updates that
/// arrive together share one transaction of four round trips — BEGIN, one statement that locks
/// every verification and contact of the group, one that writes all their changes, COMMIT — so
/// PostgreSQL plans, locks, logs and flushes once per group instead of once per update.
///
/// Measured on the bench machine with `pgbench` (durable cluster, the service's statements):
/// one update a transaction peaks at about 4,100 a second; sixteen, locked and written by one
/// statement each, at about 17,800 (docs/performance.md). An idle store adds no latency: a
/// lone update is a group of one.
extension PostgresStore {
    /// How an update finds its verification: by id, or by its link token's lookup key.
    enum VerificationKey: Sendable {
        case id(String)
        case tokenKey([UInt8])
    }

    /// One caller's update waiting for its group.
    struct UpdateJob: Sendable {
        let key: VerificationKey
        let now: Date
        /// Runs the caller's change on the rows as locked (`nil`: no such verification) and
        /// leaves the changed rows in place, or leaves them untouched when the change throws.
        /// Returns what answers the caller once the group's commit succeeded.
        let apply: @Sendable (inout LockedVerification?) -> @Sendable () -> Void
        /// Answers the caller with the group's error.
        let fail: @Sendable (any Error) -> Void
    }

    /// Groups of at most 64 updates, two of them at once (one with a pool of fewer than four
    /// connections): one group's statements run while the other waits for its flush, and
    /// connections are left for the rest. More at once would make the groups smaller, and
    /// PostgreSQL's CPU time an update grows as they shrink: with four at once it was about a
    /// quarter higher under P2's load (docs/performance.md, "2026-12-07, evening").
    static func updateGroups(poolSize: Int) -> WriteGroups<UpdateJob> {
        WriteGroups(maxInFlight: min(2, max(1, poolSize / 2)), maxPerGroup: 64)
    }

    /// Locks the verification `key` finds and its contact, runs `change`, saves both, queues an
    /// event and cancels its queued messages once it is no longer pending — in the transaction of
    /// the group it joins; `nil` when `key` finds none. Returns after the commit.
    func update<R: Sendable>(
        _ key: VerificationKey, now: Date, _ change: @escaping @Sendable (inout Verification, inout Contact?) throws -> R
    ) async throws -> (R, Verification)? {
        try await withCheckedThrowingContinuation { continuation in
            updates.submit(Self.updateJob(key, now: now, change, answer: { continuation.resume(with: $0) })) { [self] jobs in
                await runGroup(jobs)
            }
        }
    }

    /// The job of one update: `change` runs on a copy of the locked rows, which replaces them only
    /// if it returns; `answer` hears the outcome once the group's fate is known.
    static func updateJob<R: Sendable>(
        _ key: VerificationKey, now: Date, _ change: @escaping @Sendable (inout Verification, inout Contact?) throws -> R,
        answer: @escaping @Sendable (Result<(R, Verification)?, any Error>) -> Void
    ) -> UpdateJob {
        UpdateJob(
            key: key, now: now,
            apply: { locked in
                guard var changed = locked else { return { answer(.success(nil)) } }
                do {
                    let result = try change(&changed.verification, &changed.contact)
                    locked = changed
                    let verification = changed.verification
                    return { answer(.success((result, verification))) }
                } catch {
                    return { answer(.failure(error)) }
                }
            },
            fail: { answer(.failure($0)) })
    }

    /// Runs a group in one transaction and answers its callers. The transaction runs on its
    /// connection's event loop: a group is four round trips around a little Swift (six alternating
    /// pairs of `--only p2` runs against the cooperative pool: more confirmations a second in all
    /// six, less of the service's CPU a confirmation in five). When PostgreSQL refused the group's
    /// data (a constraint or a value: one update's doing; the transaction rolled back), each
    /// update runs again alone, so that error reaches its own caller only. Any other error
    /// reaches them all: a timeout or a full disk would strike each again, and after a lost
    /// connection the commit may have happened.
    func runGroup(_ jobs: [UpdateJob]) async {
        do {
            let answers = try await transaction(onConnectionLoop: true) { connection in try await Self.applyGroup(jobs, connection, logger) }
            for answer in answers { answer() }
        } catch {
            if jobs.count > 1, PostgresState.of(error).map(PostgresState.isDataError) == true {
                for job in jobs { await runGroup([job]) }
            } else {
                for job in jobs { job.fail(error) }
            }
        }
    }

    /// The body of a group's transaction: locks, each job's change in arrival order over the
    /// rows as the jobs before it left them, and the writes. Returns the callers' answers.
    static func applyGroup(_ jobs: [UpdateJob], _ connection: PostgresConnection, _ logger: Logger) async throws -> [@Sendable () -> Void] {
        var rows = try await GroupRows.lock(jobs.map(\.key), connection, logger)
        var answers: [@Sendable () -> Void] = []
        answers.reserveCapacity(jobs.count)
        for job in jobs {
            var locked = rows.locked(job.key)
            answers.append(job.apply(&locked))
            if let locked { rows.store(locked, now: job.now) }
        }
        if let write = try rows.writeStatement() {
            try await connection.run(write, logger)
        }
        return answers
    }

    /// The verifications and contacts a group locked, as they were and as its jobs left them.
    struct GroupRows {
        private var original: [String: LockedVerification] = [:]
        private var verifications: [String: Verification] = [:]
        private var contacts: [String: Contact] = [:]
        private var originalContacts: [String: Contact] = [:]
        private var idByToken: [[UInt8]: String] = [:]
        /// The time of the last job that updated each verification.
        private var touched: [String: Date] = [:]
        /// Verifications in the order they were first updated (the order their events are queued in).
        private var touchedOrder: [String] = []

        /// Locks the rows `keys` find: contacts and their verifications in one statement, in the
        /// order of the contacts' and then the verifications' insertion (every group takes them in
        /// the same order), then any verification whose contact is gone, alone.
        static func lock(_ keys: [VerificationKey], _ connection: PostgresConnection, _ logger: Logger) async throws -> GroupRows {
            var ids: [String] = [], tokens: [ByteBuffer] = []
            for key in keys {
                switch key {
                case .id(let id): ids.append(id)
                case .tokenKey(let tokenKey): tokens.append(ByteBuffer(bytes: tokenKey))
                }
            }
            var rows = GroupRows(capacity: keys.count)
            let joined: [PostgresStoredRow]
            if tokens.isEmpty {
                joined = try await connection.rows(Prepared<LockGroupByID>(ids), logger)
            } else if ids.isEmpty {
                joined = try await connection.rows(Prepared<LockGroupByToken>(tokens), logger)
            } else {
                joined = try await connection.rows(Prepared<LockGroup>(ids, tokens), logger)
            }
            let contactColumns = joined.first?.columns.removingPrefix(contactPrefix)
            for row in joined {
                rows.add(StoreRows.verification(row), contact: contactColumns.map { StoreRows.contact(row.reading($0)) }, row)
            }
            if keys.contains(where: { rows.id(of: $0) == nil }) {
                for row in try await connection.rows(Prepared<LockGroupAlone>(ids, tokens), logger) {
                    rows.add(StoreRows.verification(row), contact: nil, row)
                }
            }
            return rows
        }

        private mutating func add(_ verification: Verification, contact: Contact?, _ row: PostgresStoredRow) {
            guard original[verification.id] == nil else { return }
            let callback = row.bool("has_callback")
            original[verification.id] = LockedVerification(verification: verification, contact: contact, callback: callback)
            verifications[verification.id] = verification
            if let tokenKey = verification.tokenKey { idByToken[tokenKey] = verification.id }
            if let contact, contacts[contact.id] == nil {
                contacts[contact.id] = contact
                originalContacts[contact.id] = contact
            }
        }

        /// Room for `count` verifications (and as many contacts) in every table: grown one
        /// insert at a time, the tables rehashed their keys at each doubling (2 % of the
        /// service's CPU in a P2 PostgreSQL profile).
        private init(capacity count: Int) {
            original.reserveCapacity(count)
            verifications.reserveCapacity(count)
            contacts.reserveCapacity(count)
            originalContacts.reserveCapacity(count)
            idByToken.reserveCapacity(count)
            touched.reserveCapacity(count)
            touchedOrder.reserveCapacity(count)
        }

        private func id(of key: VerificationKey) -> String? {
            switch key {
            case .id(let id): original[id] == nil ? nil : id
            case .tokenKey(let tokenKey): idByToken[tokenKey]
            }
        }

        /// The verification `key` finds with its contact, as the jobs before left them.
        func locked(_ key: VerificationKey) -> LockedVerification? {
            guard let id = id(of: key), let first = original[id], let verification = verifications[id] else { return nil }
            let contact = first.contact.flatMap { contacts[$0.id] }
            return LockedVerification(verification: verification, contact: contact, callback: first.callback)
        }

        /// Keeps a job's changes for the jobs after it and the group's writes.
        mutating func store(_ locked: LockedVerification, now: Date) {
            let id = locked.verification.id
            verifications[id] = locked.verification
            if touched.updateValue(now, forKey: id) == nil { touchedOrder.append(id) }
            // A contact deleted meanwhile stays deleted: only one locked with the group is written.
            if let contact = locked.contact, original[id]?.contact?.id == contact.id {
                contacts[contact.id] = contact
            }
        }

        /// One run of ``WriteGroup`` with everything that changed, or `nil` when nothing did.
        func writeStatement() throws -> Prepared<WriteGroup>? {
            var changedVerifications: [[StoredValue]] = [], changedContacts: [[StoredValue]] = [], events: [[StoredValue]] = []
            var verificationIDs: [String] = [], contactIDs: [String] = [], canceled: [String] = []
            var latest = Date.distantPast
            for id in touchedOrder {
                guard let old = original[id], let v = verifications[id], let now = touched[id] else { continue }
                latest = max(latest, now)
                let state = StoreRows.verificationState(v)
                if state != StoreRows.verificationState(old.verification) {
                    changedVerifications.append([.init(id)] + state)
                    verificationIDs.append(id)
                }
                if let type = PostgresStore.eventType(of: v, from: old.verification, callback: old.callback) {
                    let (eventID, payload) = try PostgresStore.queuedEvent(type: type, now: now, data: StoreEvents.data(of: v))
                    events.append(StoreRows.newEventValues(id: eventID, accountID: v.accountID, type: type, payload: payload, now: now))
                }
                if v.status != .pending { canceled.append(id) }
            }
            for (id, contact) in contacts {
                guard let old = originalContacts[id], !StoreRows.contactChanges(from: old, to: contact).isEmpty else { continue }
                changedContacts.append(StoreRows.contactValues(contact))
                contactIDs.append(id)
            }
            if changedVerifications.isEmpty, changedContacts.isEmpty, events.isEmpty, canceled.isEmpty { return nil }
            return try Prepared(
                PostgresJSONRows.encode(changedVerifications, columns: ["id"] + StoreRows.verificationStateColumns), verificationIDs,
                PostgresJSONRows.encode(changedContacts, columns: StoreRows.contactColumns), contactIDs,
                PostgresJSONRows.encode(events, columns: StoreRows.newEventColumns),
                canceled, latest.millisecondsSince1970)
        }
    }

    // The columns the lock statements read. The contact comes without its webhooks: no
    // verification write reads them. A verification's account, contact and token never change,
    // so the join finds the same contact before and after the locks are taken.

    /// Whether the verification's account has a callback URL.
    private static let callbackColumn =
        "EXISTS (SELECT 1 FROM accounts a WHERE a.id = v.account_id AND a.callback_url IS NOT NULL) AS has_callback"
    /// What the contact's columns are named in ``bothSelect`` (`c_id`, …), apart from the verification's.
    private static let contactPrefix = "c_"
    /// The contact's columns (named `c_…`), the verification's and ``callbackColumn``, before `WHERE`.
    private static let bothSelect = """
        SELECT \(StoreRows.selectList(StoreRows.contactColumns, of: "c", prefix: contactPrefix)), \(StoreRows.selectList(StoreRows.verificationColumns, of: "v")),
            \(callbackColumn)
        FROM contacts c JOIN verifications v ON v.account_id = c.account_id AND v.contact_id = c.id
        """
    /// The verification's columns and ``callbackColumn``, before `WHERE`.
    private static let verificationSelect =
        "SELECT \(StoreRows.selectList(StoreRows.verificationColumns, of: "v")), \(callbackColumn) FROM verifications v"

    // The group's lock statements: contacts with their verifications (`FOR UPDATE OF c, v` locks
    // each joined row's contact, then its verification: the store's lock order), then the
    // verifications whose contact is gone, alone. Rows are locked in the order of the contacts'
    // `seq`, then the verifications': two groups that share rows take them in the same order (a
    // deadlock with another writer is still retried by `transaction`).
    //
    // A group finds its verifications by id (code checks, resends), by token (link
    // confirmations) or, rarely, both, and each way has its own statement. With one array on
    // one unique index, a plan made for a run's values has the shape of the plan made once for
    // every run (PostgreSQL's generic plan, which guesses ten values) and, for ten values or more,
    // is no cheaper: under load PostgreSQL keeps the generic plan after five runs. The statement
    // for both ways was planned anew on every run (0.16–0.22 ms of planning a group under P2's
    // load): a plan that sees which of its two arrays is empty always looked cheaper.

    /// ``bothSelect`` of the verifications `condition` finds, locked in the store's order.
    private static func lockBoth(where condition: String) -> String {
        "\(bothSelect) WHERE \(condition) ORDER BY c.seq, v.seq FOR UPDATE OF c, v"
    }

    enum LockGroupByID: PreparedText {
        static let name = "lock_group_by_id"
        static let sql = lockBoth(where: "v.id = ANY($1::text[])")
    }

    enum LockGroupByToken: PreparedText {
        static let name = "lock_group_by_token"
        static let sql = lockBoth(where: "v.token_key = ANY($1::bytea[])")
    }

    enum LockGroup: PreparedText {
        static let name = "lock_group"
        static let sql = lockBoth(where: "v.id = ANY($1::text[]) OR v.token_key = ANY($2::bytea[])")
    }

    enum LockGroupAlone: PreparedText {
        static let name = "lock_group_alone"
        static let sql = "\(verificationSelect) WHERE v.id = ANY($1::text[]) OR v.token_key = ANY($2::bytea[]) ORDER BY v.seq FOR UPDATE OF v"
    }

    /// Every write of a group as one statement of fixed text. Rows to write come as JSON arrays
    /// of objects keyed by column name (`json_populate_recordset` reads them with the table's
    /// own column types), each with the array of their ids: `= ANY` of the ids lets the plan,
    /// made once for groups of every size, find the rows by index whatever it guesses of the
    /// JSON's length (without it the generic plan scanned a whole table per group). The
    /// verifications' new state (`$1`, `$2`), the contacts' new mutable columns (`$3`, `$4`), the
    /// events (`$5`), and the verifications whose queued messages are canceled (`$6`) at `$7`.
    enum WriteGroup: PreparedText {
        static let name = "write_group"
        static let sql: String = {
            func assignments(_ columns: some Sequence<String>) -> String {
                columns.map { "\($0) = r.\($0)" }.joined(separator: ", ")
            }
            let eventColumns = StoreRows.selectList(StoreRows.newEventColumns)
            return """
                WITH v AS (
                    UPDATE verifications t SET \(assignments(StoreRows.verificationStateColumns))
                    FROM json_populate_recordset(NULL::verifications, $1::json) r WHERE t.id = ANY($2::text[]) AND t.id = r.id),
                c AS (
                    UPDATE contacts t SET \(assignments(StoreRows.contactColumns.dropFirst(2)))
                    FROM json_populate_recordset(NULL::contacts, $3::json) r WHERE t.id = ANY($4::text[]) AND t.id = r.id),
                e AS (
                    INSERT INTO events (\(eventColumns))
                    SELECT \(eventColumns) FROM json_populate_recordset(NULL::events, $5::json))
                UPDATE messages SET status = 'canceled', updated_at = $7::bigint
                WHERE verification_id = ANY($6::text[]) AND status = 'queued'
                """
        }()
    }
}


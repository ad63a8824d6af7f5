import Logging
import PostgresNIO

/// The PostgreSQL schema: the SQLite schema's tables and columns (so ``StoreRows`` maps both),
/// in PostgreSQL's types. Migrations are frozen once shipped: add new ones, never edit old ones.
/// Instances starting together migrate one at a time (an advisory lock).
enum PostgresMigrations {
    /// Every migration, in order.
    static let all: [(name: String, sql: String)] = [
        (
            "v1-accounts-keys-contacts",
            """
            CREATE TABLE accounts (
                id TEXT PRIMARY KEY,
                display_name TEXT NOT NULL,
                default_region TEXT,
                locale TEXT NOT NULL,
                allowed_countries TEXT,
                daily_sms_limit BIGINT NOT NULL,
                callback_url TEXT,
                callback_secret TEXT,
                created_at BIGINT NOT NULL,
                updated_at BIGINT NOT NULL
            );
            CREATE TABLE api_keys (
                id TEXT PRIMARY KEY,
                account_id TEXT REFERENCES accounts(id) ON DELETE CASCADE,
                is_admin BIGINT NOT NULL CHECK (is_admin IN (0, 1)),
                name TEXT,
                secret_hash BYTEA NOT NULL UNIQUE,
                created_at BIGINT NOT NULL,
                revoked_at BIGINT,
                CHECK (is_admin = 1 OR account_id IS NOT NULL)
            );
            CREATE TABLE contacts (
                seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                id TEXT NOT NULL UNIQUE,
                account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
                name TEXT NOT NULL,
                locale TEXT,
                external_id TEXT,
                email TEXT,
                email_key TEXT,
                email_status TEXT,
                email_verified_at BIGINT,
                email_failed_checks BIGINT NOT NULL DEFAULT 0,
                email_locked_until BIGINT,
                phone TEXT,
                phone_type TEXT,
                phone_status TEXT,
                phone_verified_at BIGINT,
                phone_failed_checks BIGINT NOT NULL DEFAULT 0,
                phone_locked_until BIGINT,
                created_at BIGINT NOT NULL,
                updated_at BIGINT NOT NULL,
                CHECK (email IS NOT NULL OR phone IS NOT NULL),
                CHECK ((email IS NULL) = (email_key IS NULL) AND (email IS NULL) = (email_status IS NULL)),
                CHECK ((phone IS NULL) = (phone_status IS NULL))
            );
            CREATE UNIQUE INDEX contacts_unique_email ON contacts(account_id, email_key);
            CREATE UNIQUE INDEX contacts_unique_phone ON contacts(account_id, phone);
            CREATE INDEX contacts_by_account ON contacts(account_id, seq);
            CREATE INDEX contacts_by_email_status ON contacts(account_id, email_status, seq);
            CREATE INDEX contacts_by_phone_status ON contacts(account_id, phone_status, seq);
            """
        ),
        (
            "v2-verifications-outbox",
            """
            CREATE TABLE verifications (
                seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                id TEXT NOT NULL UNIQUE,
                account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
                contact_id TEXT NOT NULL,
                channel TEXT NOT NULL CHECK (channel IN ('email', 'sms')),
                method TEXT NOT NULL CHECK (method IN ('code', 'link')),
                address TEXT NOT NULL,
                address_key TEXT NOT NULL,
                locale TEXT NOT NULL,
                status TEXT NOT NULL,
                nonce BYTEA NOT NULL,
                code_hash TEXT,
                token_key BYTEA UNIQUE,
                attempts BIGINT NOT NULL DEFAULT 0,
                send_count BIGINT NOT NULL,
                last_sent_at BIGINT NOT NULL,
                created_at BIGINT NOT NULL,
                expires_at BIGINT NOT NULL,
                approved_at BIGINT,
                batch_id TEXT,
                CHECK ((method = 'code') = (code_hash IS NOT NULL)),
                CHECK ((method = 'link') = (token_key IS NOT NULL))
            );
            CREATE INDEX verifications_by_contact ON verifications(contact_id, channel, status);
            CREATE INDEX verifications_pending_expiry ON verifications(expires_at) WHERE status = 'pending';
            CREATE TABLE messages (
                seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                id TEXT NOT NULL UNIQUE,
                account_id TEXT NOT NULL,
                verification_id TEXT NOT NULL REFERENCES verifications(id) ON DELETE CASCADE,
                channel TEXT NOT NULL,
                status TEXT NOT NULL,
                attempts BIGINT NOT NULL DEFAULT 0,
                next_attempt_at BIGINT NOT NULL,
                expires_at BIGINT NOT NULL,
                provider_message_id TEXT,
                last_error_code TEXT,
                last_error_message TEXT,
                created_at BIGINT NOT NULL,
                updated_at BIGINT NOT NULL
            );
            CREATE INDEX messages_due ON messages(next_attempt_at) WHERE status IN ('queued', 'sending');
            CREATE INDEX messages_by_verification ON messages(verification_id, seq);
            CREATE TABLE send_log (
                account_id TEXT NOT NULL,
                channel TEXT NOT NULL,
                address_key TEXT NOT NULL,
                sent_at BIGINT NOT NULL
            );
            CREATE INDEX send_log_by_address ON send_log(account_id, channel, address_key, sent_at);
            CREATE INDEX send_log_by_account ON send_log(account_id, channel, sent_at);
            """
        ),
        (
            "v3-idempotency-keys",
            """
            CREATE TABLE idempotency_keys (
                account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
                key TEXT NOT NULL,
                fingerprint BYTEA NOT NULL,
                status BIGINT,
                body BYTEA,
                created_at BIGINT NOT NULL,
                completed_at BIGINT,
                PRIMARY KEY (account_id, key)
            );
            CREATE INDEX idempotency_keys_by_age ON idempotency_keys(created_at);
            """
        ),
        (
            "v4-batches",
            """
            CREATE TABLE batches (
                seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                id TEXT NOT NULL UNIQUE,
                account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
                channel TEXT NOT NULL CHECK (channel IN ('email', 'sms')),
                method TEXT NOT NULL CHECK (method IN ('code', 'link')),
                status TEXT NOT NULL CHECK (status IN ('running', 'completed')),
                total BIGINT NOT NULL,
                created_at BIGINT NOT NULL,
                completed_at BIGINT
            );
            CREATE INDEX batches_running ON batches(seq) WHERE status = 'running';
            CREATE TABLE batch_items (
                batch_id TEXT NOT NULL REFERENCES batches(id) ON DELETE CASCADE,
                position BIGINT NOT NULL,
                contact_id TEXT NOT NULL,
                status TEXT NOT NULL CHECK (status IN ('pending', 'done')),
                outcome TEXT,
                verification_id TEXT,
                error_code TEXT,
                error_message TEXT,
                PRIMARY KEY (batch_id, contact_id)
            );
            CREATE UNIQUE INDEX batch_items_by_position ON batch_items(batch_id, position);
            CREATE INDEX batch_items_pending ON batch_items(batch_id, position) WHERE status = 'pending';
            """
        ),
        (
            "v5-events",
            """
            CREATE TABLE events (
                seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                id TEXT NOT NULL UNIQUE,
                account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
                type TEXT NOT NULL,
                payload BYTEA NOT NULL,
                status TEXT NOT NULL CHECK (status IN ('queued', 'sending', 'delivered', 'failed')),
                attempts BIGINT NOT NULL DEFAULT 0,
                next_attempt_at BIGINT NOT NULL,
                last_error TEXT,
                created_at BIGINT NOT NULL,
                updated_at BIGINT NOT NULL
            );
            CREATE INDEX events_due ON events(next_attempt_at) WHERE status IN ('queued', 'sending');
            CREATE INDEX events_by_account ON events(account_id, seq);
            """
        ),
        (
            "v6-contact-webhooks",
            """
            CREATE TABLE contact_webhooks (
                id TEXT PRIMARY KEY,
                contact_id TEXT NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
                account_id TEXT NOT NULL,
                position BIGINT NOT NULL CHECK (position BETWEEN 0 AND 4),
                kind TEXT NOT NULL CHECK (kind IN ('dingtalk', 'lark', 'wecom', 'custom')),
                name TEXT NOT NULL,
                masked_url TEXT NOT NULL,
                url_key BYTEA NOT NULL,
                sealed_url BYTEA NOT NULL,
                sealed_secret BYTEA,
                status TEXT NOT NULL CHECK (status IN ('not_verified', 'pending', 'verified')),
                verified_at BIGINT,
                tested_at BIGINT,
                last_code TEXT,
                last_message TEXT,
                created_at BIGINT NOT NULL,
                updated_at BIGINT NOT NULL,
                UNIQUE (contact_id, position),
                UNIQUE (contact_id, url_key),
                UNIQUE (contact_id, name)
            );
            CREATE INDEX contact_webhooks_by_status ON contact_webhooks(account_id, status);
            CREATE TABLE webhook_sends (
                url_key BYTEA NOT NULL,
                sent_at BIGINT NOT NULL
            );
            CREATE INDEX webhook_sends_by_key ON webhook_sends(url_key, sent_at);
            CREATE INDEX webhook_sends_by_time ON webhook_sends(sent_at);
            """
        ),
        (
            // See the SQLite migration of the same name: the day's SMS count as one row.
            "v7-sms-day-counts",
            """
            CREATE TABLE sms_day_counts (
                account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
                day BIGINT NOT NULL,
                count BIGINT NOT NULL,
                PRIMARY KEY (account_id, day)
            );
            INSERT INTO sms_day_counts (account_id, day, count)
                SELECT account_id, (sent_at / 86400000) * 86400000, COUNT(*) FROM send_log
                WHERE channel = 'sms' AND account_id IN (SELECT id FROM accounts) GROUP BY 1, 2;
            DROP INDEX send_log_by_account
            """
        ),
        (
            // See the SQLite migration of the same name: the created resource's id on the claim.
            "v8-idempotency-resource",
            "ALTER TABLE idempotency_keys ADD COLUMN resource_id TEXT"
        ),
        (
            // See the SQLite migration of the same name: one row per paused provider.
            "v9-provider-pauses",
            """
            CREATE TABLE provider_pauses (
                provider TEXT PRIMARY KEY,
                paused_until BIGINT NOT NULL
            )
            """
        ),
        (
            // See the SQLite migration of the same name: the expiry sweep deletes old sends.
            // (SQLite's v10 changed an index this store never had in that form.)
            "v11-send-log-by-time",
            "CREATE INDEX send_log_by_time ON send_log(sent_at)"
        ),
        (
            // A confirmation changes its contact's `email_status` or `phone_status`. While the
            // list filters' indexes named those columns, PostgreSQL wrote a new entry into every
            // one of the contact's seven indexes on each confirmation (an update that changes an
            // indexed column cannot stay "heap-only"). The filters now read `contact_statuses`, one
            // narrow row per contact and address that triggers keep in step with `contacts` in the
            // same statement, and a contact's update leaves its indexes alone: a HOT update, with
            // room for it on the page (`fillfactor`). The table's one index serves both the
            // filters and the triggers, which know a row's every column (OLD is null on INSERT,
            // NEW on DELETE). SQLite updates only the indexes whose columns changed, so its
            // schema keeps the two indexes. docs/performance.md measures it.
            "v12-contact-statuses",
            """
            CREATE TABLE contact_statuses (
                account_id TEXT NOT NULL,
                channel TEXT NOT NULL CHECK (channel IN ('email', 'phone')),
                status TEXT NOT NULL,
                contact_seq BIGINT NOT NULL
            );
            CREATE INDEX contact_statuses_filter ON contact_statuses(account_id, channel, status, contact_seq);
            INSERT INTO contact_statuses (account_id, channel, status, contact_seq)
                SELECT account_id, 'email', email_status, seq FROM contacts WHERE email_status IS NOT NULL
                UNION ALL SELECT account_id, 'phone', phone_status, seq FROM contacts WHERE phone_status IS NOT NULL;
            CREATE FUNCTION contact_status_write(account TEXT, address_channel TEXT, old_status TEXT, new_status TEXT, contact BIGINT)
            RETURNS void LANGUAGE plpgsql AS $$
            BEGIN
                IF old_status IS NULL THEN
                    INSERT INTO contact_statuses (account_id, channel, status, contact_seq)
                    VALUES (account, address_channel, new_status, contact);
                ELSIF new_status IS NULL THEN
                    DELETE FROM contact_statuses
                    WHERE account_id = account AND channel = address_channel AND status = old_status AND contact_seq = contact;
                ELSE
                    UPDATE contact_statuses SET status = new_status
                    WHERE account_id = account AND channel = address_channel AND status = old_status AND contact_seq = contact;
                END IF;
            END $$;
            CREATE FUNCTION contact_statuses_sync() RETURNS trigger LANGUAGE plpgsql AS $$
            DECLARE
                account TEXT := COALESCE(NEW.account_id, OLD.account_id);
                contact BIGINT := COALESCE(NEW.seq, OLD.seq);
            BEGIN
                IF NEW.email_status IS DISTINCT FROM OLD.email_status THEN
                    PERFORM contact_status_write(account, 'email', OLD.email_status, NEW.email_status, contact);
                END IF;
                IF NEW.phone_status IS DISTINCT FROM OLD.phone_status THEN
                    PERFORM contact_status_write(account, 'phone', OLD.phone_status, NEW.phone_status, contact);
                END IF;
                RETURN NULL;
            END $$;
            CREATE TRIGGER contact_statuses_on_insert AFTER INSERT ON contacts
                FOR EACH ROW EXECUTE FUNCTION contact_statuses_sync();
            CREATE TRIGGER contact_statuses_on_update AFTER UPDATE OF email_status, phone_status ON contacts
                FOR EACH ROW WHEN (OLD.email_status IS DISTINCT FROM NEW.email_status OR OLD.phone_status IS DISTINCT FROM NEW.phone_status)
                EXECUTE FUNCTION contact_statuses_sync();
            CREATE TRIGGER contact_statuses_on_delete AFTER DELETE ON contacts
                FOR EACH ROW EXECUTE FUNCTION contact_statuses_sync();
            DROP INDEX contacts_by_email_status;
            DROP INDEX contacts_by_phone_status;
            ALTER TABLE contacts SET (fillfactor = 80)
            """
        ),
        (
            // The same for verifications: a confirmation changes `status`, the last column of
            // `verifications_by_contact` and the predicate of the pending-expiry index. Lookups by
            // contact now filter `status` among the few rows of one contact and channel; the
            // expiry sweep reads `verification_expiries`, a row a trigger adds for each new
            // verification and the sweep deletes once it is due, whether the verification
            // expired then or had ended before (PostgresStore.expireDue).
            "v13-verification-expiries",
            """
            CREATE TABLE verification_expiries (
                verification_id TEXT NOT NULL,
                expires_at BIGINT NOT NULL
            );
            CREATE INDEX verification_expiries_due ON verification_expiries(expires_at);
            INSERT INTO verification_expiries (verification_id, expires_at)
                SELECT id, expires_at FROM verifications WHERE status = 'pending';
            CREATE FUNCTION verification_expiries_add() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                INSERT INTO verification_expiries (verification_id, expires_at) VALUES (NEW.id, NEW.expires_at);
                RETURN NULL;
            END $$;
            CREATE TRIGGER verification_expiries_on_insert AFTER INSERT ON verifications
                FOR EACH ROW WHEN (NEW.status = 'pending') EXECUTE FUNCTION verification_expiries_add();
            DROP INDEX verifications_pending_expiry;
            DROP INDEX verifications_by_contact;
            CREATE INDEX verifications_by_contact ON verifications(contact_id, channel);
            ALTER TABLE verifications SET (fillfactor = 80)
            """
        ),
        (
            // v12's trigger called a second PL/pgSQL function for each changed address
            // (`PERFORM contact_status_write(…)`): a query and a function call around the one
            // statement that does the work, on every confirmation. The trigger now runs that
            // statement itself, written out for each of the two channels.
            "v14-contact-statuses-inline",
            """
            CREATE OR REPLACE FUNCTION contact_statuses_sync() RETURNS trigger LANGUAGE plpgsql AS $$
            DECLARE
                account TEXT := COALESCE(NEW.account_id, OLD.account_id);
                contact BIGINT := COALESCE(NEW.seq, OLD.seq);
            BEGIN
                IF NEW.email_status IS DISTINCT FROM OLD.email_status THEN
                    IF OLD.email_status IS NULL THEN
                        INSERT INTO contact_statuses (account_id, channel, status, contact_seq)
                        VALUES (account, 'email', NEW.email_status, contact);
                    ELSIF NEW.email_status IS NULL THEN
                        DELETE FROM contact_statuses
                        WHERE account_id = account AND channel = 'email' AND status = OLD.email_status AND contact_seq = contact;
                    ELSE
                        UPDATE contact_statuses SET status = NEW.email_status
                        WHERE account_id = account AND channel = 'email' AND status = OLD.email_status AND contact_seq = contact;
                    END IF;
                END IF;
                IF NEW.phone_status IS DISTINCT FROM OLD.phone_status THEN
                    IF OLD.phone_status IS NULL THEN
                        INSERT INTO contact_statuses (account_id, channel, status, contact_seq)
                        VALUES (account, 'phone', NEW.phone_status, contact);
                    ELSIF NEW.phone_status IS NULL THEN
                        DELETE FROM contact_statuses
                        WHERE account_id = account AND channel = 'phone' AND status = OLD.phone_status AND contact_seq = contact;
                    ELSE
                        UPDATE contact_statuses SET status = NEW.phone_status
                        WHERE account_id = account AND channel = 'phone' AND status = OLD.phone_status AND contact_seq = contact;
                    END IF;
                END IF;
                RETURN NULL;
            END $$;
            DROP FUNCTION contact_status_write(TEXT, TEXT, TEXT, TEXT, BIGINT)
            """
        ),
    ]

    /// A migration's statements, to run one at a time (a prepared statement holds one): its text
    /// split at each `;` outside a `$$`-quoted function body. No migration has a `;` inside a
    /// string literal.
    static func statements(of sql: String) -> [String] {
        var statements: [String] = []
        var current = ""
        // The parts between `$$` alternate: outside a body, inside, outside, …
        for (index, part) in sql.split(separator: "$$", omittingEmptySubsequences: false).enumerated() {
            if index > 0 { current += "$$" }
            guard index.isMultiple(of: 2) else {
                current += part
                continue
            }
            let pieces = part.split(separator: ";", omittingEmptySubsequences: false)
            for (position, piece) in pieces.enumerated() {
                current += piece
                if position < pieces.count - 1 {
                    statements.append(current)
                    current = ""
                }
            }
        }
        statements.append(current)
        return statements.filter { !$0.allSatisfy(\.isWhitespace) }
    }

    /// Applies the migrations the database lacks, each in its own transaction, holding an
    /// advisory lock so that instances starting together do not race. `last` stops after the
    /// migration of that name (tests of an upgrade with data).
    static func migrate(_ connection: PostgresConnection, logger: Logger, through last: String? = nil) async throws -> [String] {
        try await connection.run("SELECT pg_advisory_lock(7426301)", logger)
        do {
            try await connection.run(
                "CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())",
                logger)
            let applied = Set(try await connection.rows("SELECT name FROM schema_migrations", logger).compactMap { $0.text("name") })
            var ran: [String] = []
            let wanted = last.flatMap { name in all.firstIndex { $0.name == name } }.map { all[...$0] } ?? all[...]
            for migration in wanted where !applied.contains(migration.name) {
                try await connection.withTransaction(logger: logger) { connection in
                    for statement in statements(of: migration.sql) {
                        try await connection.run(PostgresQuery(unsafeSQL: statement), logger)
                    }
                    try await connection.run("INSERT INTO schema_migrations (name) VALUES (\(migration.name))", logger)
                }
                ran.append(migration.name)
            }
            try await connection.run("SELECT pg_advisory_unlock(7426301)", logger)
            return ran
        } catch {
            _ = try? await connection.run("SELECT pg_advisory_unlock(7426301)", logger)
            throw error
        }
    }
}

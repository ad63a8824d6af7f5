import GRDB

/// The SQLite schema. Migrations are frozen once shipped: add new ones, never edit old ones.
enum SQLiteMigrations {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-accounts-keys-contacts") { db in
            try db.execute(sql: """
                CREATE TABLE accounts (
                    id TEXT PRIMARY KEY NOT NULL,
                    display_name TEXT NOT NULL,
                    default_region TEXT,
                    locale TEXT NOT NULL,
                    allowed_countries TEXT,
                    daily_sms_limit INTEGER NOT NULL,
                    callback_url TEXT,
                    callback_secret TEXT,
                    created_at INTEGER NOT NULL,
                    updated_at INTEGER NOT NULL
                ) STRICT;

                CREATE TABLE api_keys (
                    id TEXT PRIMARY KEY NOT NULL,
                    account_id TEXT REFERENCES accounts(id) ON DELETE CASCADE,
                    is_admin INTEGER NOT NULL CHECK (is_admin IN (0, 1)),
                    name TEXT,
                    secret_hash BLOB NOT NULL UNIQUE,
                    created_at INTEGER NOT NULL,
                    revoked_at INTEGER,
                    CHECK (is_admin = 1 OR account_id IS NOT NULL)
                ) STRICT;

                CREATE TABLE contacts (
                    seq INTEGER PRIMARY KEY AUTOINCREMENT,
                    id TEXT NOT NULL UNIQUE,
                    account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
                    name TEXT NOT NULL,
                    locale TEXT,
                    external_id TEXT,
                    email TEXT,
                    email_key TEXT,
                    email_status TEXT,
                    email_verified_at INTEGER,
                    email_failed_checks INTEGER NOT NULL DEFAULT 0,
                    email_locked_until INTEGER,
                    phone TEXT,
                    phone_type TEXT,
                    phone_status TEXT,
                    phone_verified_at INTEGER,
                    phone_failed_checks INTEGER NOT NULL DEFAULT 0,
                    phone_locked_until INTEGER,
                    created_at INTEGER NOT NULL,
                    updated_at INTEGER NOT NULL,
                    CHECK (email IS NOT NULL OR phone IS NOT NULL),
                    CHECK ((email IS NULL) = (email_key IS NULL) AND (email IS NULL) = (email_status IS NULL)),
                    CHECK ((phone IS NULL) = (phone_status IS NULL))
                ) STRICT;

                -- One holder per normalized address and account (NULLs never collide).
                CREATE UNIQUE INDEX contacts_unique_email ON contacts(account_id, email_key);
                CREATE UNIQUE INDEX contacts_unique_phone ON contacts(account_id, phone);
                CREATE INDEX contacts_by_account ON contacts(account_id, seq);
                CREATE INDEX contacts_by_email_status ON contacts(account_id, email_status, seq);
                CREATE INDEX contacts_by_phone_status ON contacts(account_id, phone_status, seq);
                """)
        }
        migrator.registerMigration("v2-verifications-outbox") { db in
            try db.execute(sql: """
                CREATE TABLE verifications (
                    seq INTEGER PRIMARY KEY AUTOINCREMENT,
                    id TEXT NOT NULL UNIQUE,
                    account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
                    contact_id TEXT NOT NULL,
                    channel TEXT NOT NULL CHECK (channel IN ('email', 'sms')),
                    method TEXT NOT NULL CHECK (method IN ('code', 'link')),
                    address TEXT NOT NULL,
                    address_key TEXT NOT NULL,
                    locale TEXT NOT NULL,
                    status TEXT NOT NULL,
                    nonce BLOB NOT NULL,
                    code_hash TEXT,
                    token_key BLOB UNIQUE,
                    attempts INTEGER NOT NULL DEFAULT 0,
                    send_count INTEGER NOT NULL,
                    last_sent_at INTEGER NOT NULL,
                    created_at INTEGER NOT NULL,
                    expires_at INTEGER NOT NULL,
                    approved_at INTEGER,
                    batch_id TEXT,
                    CHECK ((method = 'code') = (code_hash IS NOT NULL)),
                    CHECK ((method = 'link') = (token_key IS NOT NULL))
                ) STRICT;
                CREATE INDEX verifications_by_contact ON verifications(contact_id, channel, status);
                CREATE INDEX verifications_pending_expiry ON verifications(expires_at) WHERE status = 'pending';

                CREATE TABLE messages (
                    seq INTEGER PRIMARY KEY AUTOINCREMENT,
                    id TEXT NOT NULL UNIQUE,
                    account_id TEXT NOT NULL,
                    verification_id TEXT NOT NULL REFERENCES verifications(id) ON DELETE CASCADE,
                    channel TEXT NOT NULL,
                    status TEXT NOT NULL,
                    attempts INTEGER NOT NULL DEFAULT 0,
                    next_attempt_at INTEGER NOT NULL,
                    expires_at INTEGER NOT NULL,
                    provider_message_id TEXT,
                    last_error_code TEXT,
                    last_error_message TEXT,
                    created_at INTEGER NOT NULL,
                    updated_at INTEGER NOT NULL
                ) STRICT;
                CREATE INDEX messages_due ON messages(next_attempt_at) WHERE status IN ('queued', 'sending');
                CREATE INDEX messages_by_verification ON messages(verification_id, seq);

                -- One row per message queued: the per-address and per-account send limits count here.
                CREATE TABLE send_log (
                    account_id TEXT NOT NULL,
                    channel TEXT NOT NULL,
                    address_key TEXT NOT NULL,
                    sent_at INTEGER NOT NULL
                ) STRICT;
                CREATE INDEX send_log_by_address ON send_log(account_id, channel, address_key, sent_at);
                CREATE INDEX send_log_by_account ON send_log(account_id, channel, sent_at);
                """)
        }
        migrator.registerMigration("v3-idempotency-keys") { db in
            try db.execute(sql: """
                -- A request's response under an Idempotency-Key, kept 24 hours; status NULL while in flight.
                CREATE TABLE idempotency_keys (
                    account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
                    key TEXT NOT NULL,
                    fingerprint BLOB NOT NULL,
                    status INTEGER,
                    body BLOB,
                    created_at INTEGER NOT NULL,
                    completed_at INTEGER,
                    PRIMARY KEY (account_id, key)
                ) STRICT, WITHOUT ROWID;
                CREATE INDEX idempotency_keys_by_age ON idempotency_keys(created_at);
                """)
        }
        migrator.registerMigration("v4-batches") { db in
            try db.execute(sql: """
                CREATE TABLE batches (
                    seq INTEGER PRIMARY KEY AUTOINCREMENT,
                    id TEXT NOT NULL UNIQUE,
                    account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
                    channel TEXT NOT NULL CHECK (channel IN ('email', 'sms')),
                    method TEXT NOT NULL CHECK (method IN ('code', 'link')),
                    status TEXT NOT NULL CHECK (status IN ('running', 'completed')),
                    total INTEGER NOT NULL,
                    created_at INTEGER NOT NULL,
                    completed_at INTEGER
                ) STRICT;
                CREATE INDEX batches_running ON batches(seq) WHERE status = 'running';

                -- One row per distinct contact; status 'pending' until the runner has worked on it.
                CREATE TABLE batch_items (
                    batch_id TEXT NOT NULL REFERENCES batches(id) ON DELETE CASCADE,
                    position INTEGER NOT NULL,
                    contact_id TEXT NOT NULL,
                    status TEXT NOT NULL CHECK (status IN ('pending', 'done')),
                    outcome TEXT,
                    verification_id TEXT,
                    error_code TEXT,
                    error_message TEXT,
                    PRIMARY KEY (batch_id, contact_id)
                ) STRICT, WITHOUT ROWID;
                CREATE UNIQUE INDEX batch_items_by_position ON batch_items(batch_id, position);
                CREATE INDEX batch_items_pending ON batch_items(batch_id, position) WHERE status = 'pending';
                """)
        }
        migrator.registerMigration("v5-events") { db in
            try db.execute(sql: """
                CREATE TABLE events (
                    seq INTEGER PRIMARY KEY AUTOINCREMENT,
                    id TEXT NOT NULL UNIQUE,
                    account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
                    type TEXT NOT NULL,
                    payload BLOB NOT NULL,
                    status TEXT NOT NULL CHECK (status IN ('queued', 'sending', 'delivered', 'failed')),
                    attempts INTEGER NOT NULL DEFAULT 0,
                    next_attempt_at INTEGER NOT NULL,
                    last_error TEXT,
                    created_at INTEGER NOT NULL,
                    updated_at INTEGER NOT NULL
                ) STRICT;
                CREATE INDEX events_due ON events(next_attempt_at) WHERE status IN ('queued', 'sending');
                CREATE INDEX events_by_account ON events(account_id, seq);
                """)
        }
        migrator.registerMigration("v6-contact-webhooks") { db in
            try db.execute(sql: """
                CREATE TABLE contact_webhooks (
                    id TEXT PRIMARY KEY NOT NULL,
                    contact_id TEXT NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
                    account_id TEXT NOT NULL,
                    position INTEGER NOT NULL CHECK (position BETWEEN 0 AND 4),
                    kind TEXT NOT NULL CHECK (kind IN ('dingtalk', 'lark', 'wecom', 'custom')),
                    name TEXT NOT NULL,
                    masked_url TEXT NOT NULL,
                    url_key BLOB NOT NULL,
                    sealed_url BLOB NOT NULL,
                    sealed_secret BLOB,
                    status TEXT NOT NULL CHECK (status IN ('not_verified', 'pending', 'verified')),
                    verified_at INTEGER,
                    tested_at INTEGER,
                    last_code TEXT,
                    last_message TEXT,
                    created_at INTEGER NOT NULL,
                    updated_at INTEGER NOT NULL,
                    UNIQUE (contact_id, position),
                    UNIQUE (contact_id, url_key),
                    UNIQUE (contact_id, name)
                ) STRICT;
                CREATE INDEX contact_webhooks_by_status ON contact_webhooks(account_id, status);

                -- Sends to chatbot robots in the last minute, for their rate limits.
                CREATE TABLE webhook_sends (
                    url_key BLOB NOT NULL,
                    sent_at INTEGER NOT NULL
                ) STRICT;
                CREATE INDEX webhook_sends_by_key ON webhook_sends(url_key, sent_at);
                CREATE INDEX webhook_sends_by_time ON webhook_sends(sent_at);
                """)
        }
        migrator.registerMigration("v7-sms-day-counts") { db in
            // The daily SMS limit read one row instead of counting the day's send_log rows
            // inside every start (O(n) per start, O(n²) per batch). Days are UTC midnights in ms.
            try db.execute(sql: """
                CREATE TABLE sms_day_counts (
                    account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
                    day INTEGER NOT NULL,
                    count INTEGER NOT NULL,
                    PRIMARY KEY (account_id, day)
                ) STRICT, WITHOUT ROWID;
                INSERT INTO sms_day_counts (account_id, day, count)
                    SELECT account_id, (sent_at / 86400000) * 86400000, COUNT(*) FROM send_log
                    WHERE channel = 'sms' AND account_id IN (SELECT id FROM accounts) GROUP BY 1, 2;
                DROP INDEX send_log_by_account;
                """)
        }
        migrator.registerMigration("v8-idempotency-resource") { db in
            // The id of what a request under an Idempotency-Key created, written in the same
            // transaction as the resource; a crash before the response was stored leaves it set,
            // so a retry answers from that resource instead of running the request again.
            try db.execute(sql: "ALTER TABLE idempotency_keys ADD COLUMN resource_id TEXT")
        }
        migrator.registerMigration("v9-provider-pauses") { db in
            // A provider's pause (429/503 with Retry-After) as every instance sees it: one row
            // per provider, the end of the longest pause recorded, in ms (security.md F15).
            try db.execute(sql: """
                CREATE TABLE provider_pauses (
                    provider TEXT PRIMARY KEY NOT NULL,
                    paused_until INTEGER NOT NULL
                ) STRICT, WITHOUT ROWID
                """)
        }
        migrator.registerMigration("v10-verifications-by-contact") { db in
            // Without `status`, a verification's entry stays put when its status changes, so a link
            // confirmation writes fewer WAL pages (measured in docs/performance.md, 2026-12-06).
            // The two queries that filter on status read the few verifications of one contact
            // and channel.
            try db.execute(sql: """
                DROP INDEX verifications_by_contact;
                CREATE INDEX verifications_by_contact ON verifications(contact_id, channel);
                """)
        }
        migrator.registerMigration("v11-send-log-by-time") { db in
            // The expiry sweep deletes sends older than a day and an hour
            // (StoreSQL.sendLogPurge): without this index each sweep would read the whole log.
            // (sms_day_counts' key starts with the account, but holds one row per account and day.)
            try db.execute(sql: "CREATE INDEX send_log_by_time ON send_log(sent_at)")
        }
        return migrator
    }
}

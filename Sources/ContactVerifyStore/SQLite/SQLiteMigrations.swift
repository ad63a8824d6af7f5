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
        return migrator
    }
}

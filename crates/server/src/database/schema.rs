//! The schema: fail2ban's `CREATE` scripts, version 4, and the upgrade
//! steps from older files (fail2ban: `database.py` `_CREATE_SCRIPTS`,
//! `updateDb`).

use rusqlite::{params, OptionalExtension};

use super::Database;

/// The schema version this module writes.
pub const SCHEMA_VERSION: i64 = 4;

pub(super) const CREATE_SCRIPTS: &[(&str, &str)] = &[
    ("fail2banDb", "CREATE TABLE IF NOT EXISTS fail2banDb(version INTEGER);"),
    (
        "jails",
        "CREATE TABLE IF NOT EXISTS jails(name TEXT NOT NULL UNIQUE, enabled INTEGER NOT NULL DEFAULT 1);\
         CREATE INDEX IF NOT EXISTS jails_name ON jails(name);",
    ),
    (
        "logs",
        "CREATE TABLE IF NOT EXISTS logs(jail TEXT NOT NULL, path TEXT, firstlinemd5 TEXT, \
         lastfilepos INTEGER DEFAULT 0, FOREIGN KEY(jail) REFERENCES jails(name) ON DELETE CASCADE, \
         UNIQUE(jail, path),UNIQUE(jail, path, firstlinemd5));\
         CREATE INDEX IF NOT EXISTS logs_path ON logs(path);\
         CREATE INDEX IF NOT EXISTS logs_jail_path ON logs(jail, path);",
    ),
    (
        "bans",
        "CREATE TABLE IF NOT EXISTS bans(jail TEXT NOT NULL, ip TEXT, timeofban INTEGER NOT NULL, \
         bantime INTEGER NOT NULL, bancount INTEGER NOT NULL default 1, data JSON, \
         FOREIGN KEY(jail) REFERENCES jails(name) );\
         CREATE INDEX IF NOT EXISTS bans_jail_timeofban_ip ON bans(jail, timeofban);\
         CREATE INDEX IF NOT EXISTS bans_jail_ip ON bans(jail, ip);\
         CREATE INDEX IF NOT EXISTS bans_ip ON bans(ip);",
    ),
    (
        "bips",
        "CREATE TABLE IF NOT EXISTS bips(ip TEXT NOT NULL, jail TEXT NOT NULL, timeofban INTEGER NOT NULL, \
         bantime INTEGER NOT NULL, bancount INTEGER NOT NULL default 1, data JSON, \
         PRIMARY KEY(ip, jail), FOREIGN KEY(jail) REFERENCES jails(name) );\
         CREATE INDEX IF NOT EXISTS bips_timeofban ON bips(timeofban);\
         CREATE INDEX IF NOT EXISTS bips_ip ON bips(ip);",
    ),
];

fn create_script(table: &str) -> &'static str {
    CREATE_SCRIPTS
        .iter()
        .find(|(t, _)| *t == table)
        .map(|(_, s)| *s)
        .unwrap_or("")
}

impl Database {
    pub(super) fn create(&self) -> rusqlite::Result<()> {
        for (_, script) in CREATE_SCRIPTS {
            self.conn.execute_batch(script)?;
        }
        self.conn.execute(
            "INSERT INTO fail2banDb(version) SELECT ?1 WHERE NOT EXISTS (SELECT 1 FROM fail2banDb LIMIT 1)",
            params![SCHEMA_VERSION],
        )?;
        Ok(())
    }

    fn table_exists(&self, table: &str) -> rusqlite::Result<bool> {
        self.conn
            .query_row(
                "SELECT 1 FROM sqlite_master WHERE type='table' AND name=?1",
                params![table],
                |_| Ok(()),
            )
            .optional()
            .map(|r| r.is_some())
    }

    /// The same steps as fail2ban's `updateDb`: v1 gets the logs table's
    /// second unique key, v2's bans get `bantime = -2` (unknown) and
    /// `bancount = 1`, v3 gets `bips` filled from `bans`.
    pub(super) fn upgrade(&self, version: i64) -> rusqlite::Result<()> {
        let tx = self.conn.unchecked_transaction()?;
        if version < 2 && self.table_exists("logs")? {
            tx.execute_batch(&format!(
                "CREATE TEMPORARY TABLE logs_temp AS SELECT * FROM logs; DROP TABLE logs; {} \
                 INSERT INTO logs SELECT * from logs_temp; DROP TABLE logs_temp; \
                 UPDATE fail2banDb SET version = 2;",
                create_script("logs")
            ))?;
        }
        if version < 3 && self.table_exists("bans")? {
            tx.execute_batch(&format!(
                "CREATE TEMPORARY TABLE bans_temp AS SELECT jail, ip, timeofban, -2 as bantime, \
                 1 as bancount, data FROM bans; DROP TABLE bans; {} \
                 INSERT INTO bans SELECT * from bans_temp; DROP TABLE bans_temp; \
                 UPDATE fail2banDb SET version = 3;",
                create_script("bans")
            ))?;
        }
        if version < 4 && !self.table_exists("bips")? {
            tx.execute_batch(&format!(
                "{} UPDATE fail2banDb SET version = 4;",
                create_script("bips")
            ))?;
            tx.execute(
                "INSERT OR REPLACE INTO bips(ip, jail, timeofban, bantime, bancount, data) \
                 SELECT ip, jail, timeofban, bantime, bancount, data FROM bans order by timeofban",
                [],
            )?;
        }
        // Tables a very old file never had (e.g. no bans at all in v1).
        for (_, script) in CREATE_SCRIPTS {
            tx.execute_batch(script)?;
        }
        tx.execute(
            "UPDATE fail2banDb SET version = ?1",
            params![SCHEMA_VERSION],
        )?;
        tx.commit()
    }
}

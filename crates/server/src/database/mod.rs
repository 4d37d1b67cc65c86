//! fail2ban's persistent database, schema version 4, read and written the way
//! fail2ban does so either program can open the other's file
//! (fail2ban: `server/database.py`).
//!
//! Tables: `fail2banDb(version)`, `jails`, `logs` (file positions), `bans` (the
//! history, one row per ban) and `bips` (the last ban per address and jail,
//! which is what restores bans at start and feeds `bantime.increment`).
//!
//! Differences from fail2ban, on purpose:
//! - the rollback journal is on disk (`journal_mode = TRUNCATE`), not in
//!   memory, so a crash in the middle of a commit cannot corrupt the file;
//! - every negative bantime is permanent (fail2ban 1.x: only `-1`), so the
//!   purge never deletes a row with `bantime < 0`;
//! - a file from a newer schema is left untouched and refused with an error
//!   (fail2ban raises too, but after logging an "upgrade" attempt);
//! - a corrupt file is moved aside to `<file>.<YYYYmmdd-HHMMSS>` and every
//!   row still readable is copied into a fresh database, without needing the
//!   `sqlite3` program fail2ban shells out to.

use std::path::Path;
use std::time::Duration;

use rusqlite::{params, Connection, OpenFlags, OptionalExtension};

pub use schema::SCHEMA_VERSION;

/// What went wrong with the database, always naming the file.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// SQLite refused an operation.
    #[error("database {path}: {action}: {source}")]
    Sqlite {
        /// The database file.
        path: String,
        /// What was being done.
        action: &'static str,
        /// SQLite's own error.
        source: rusqlite::Error,
    },
    /// The file was written by a newer fail2ban/ironban; it is left untouched.
    #[error("database {path}: schema version {found} is newer than {SCHEMA_VERSION}; the file is left untouched")]
    FutureVersion {
        /// The database file.
        path: String,
        /// The version found in `fail2banDb`.
        found: i64,
    },
    /// Moving a corrupt file aside failed.
    #[error("database {path}: cannot move the corrupt file aside to {backup}: {source}")]
    Backup {
        /// The database file.
        path: String,
        /// Where it was to go.
        backup: String,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// One row of `bips` (or `bans`): a ban as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct BanRecord {
    /// The banned address (or failure id).
    pub ip: String,
    /// Time of the ban, whole seconds since the epoch.
    pub timeofban: i64,
    /// Ban duration in seconds; negative means permanent.
    pub bantime: i64,
    /// How many times this address has been banned in this jail.
    pub bancount: i64,
    /// The ticket data as JSON text (`matches`, `failures`, captured groups).
    pub data: String,
}

/// A ban's history for `bantime.increment` (`getBan`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BanHistory {
    /// Number of previous bans (summed over jails with `overalljails`).
    pub bancount: i64,
    /// The last time of ban.
    pub timeofban: i64,
    /// The last bantime (summed over jails with `overalljails`).
    pub bantime: i64,
}

/// An open fail2ban database.
pub struct Database {
    conn: Connection,
    path: String,
    /// Seconds after which `bans` rows are purged (`dbpurgeage`).
    pub purge_age: i64,
    /// Matches kept per ban (`dbmaxmatches`).
    pub max_matches: usize,
    /// Messages to log about what opening did (created, upgraded, repaired).
    pub notes: Vec<String>,
}

impl Database {
    /// Opens (creating or upgrading as needed) the database at `path`;
    /// `":memory:"` keeps it in memory as fail2ban does.
    ///
    /// # Errors
    /// A newer schema, or a file that can be neither opened nor repaired.
    pub fn open(path: &str) -> Result<Database, DbError> {
        match Database::connect(path) {
            Ok(db) => Ok(db),
            Err(DbError::Sqlite { source, .. })
                if Path::new(path).is_file() && repair::is_corruption(&source) =>
            {
                Database::repair(path, &source.to_string())
            }
            Err(e) => Err(e),
        }
    }

    fn connect(path: &str) -> Result<Database, DbError> {
        let sql = |action: &'static str| {
            let path = path.to_string();
            move |source| DbError::Sqlite {
                path,
                action,
                source,
            }
        };
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(sql("opening"))?;
        // A second program holding the lock briefly (fail2ban's own tools, a
        // backup) should delay us, not lose a ban.
        // Room for every statement this module runs (about 25).
        conn.set_prepared_statement_cache_capacity(48);
        conn.busy_timeout(Duration::from_secs(5))
            .map_err(sql("setting busy timeout"))?;
        // fail2ban keeps its rollback journal in memory: a process killed in
        // the middle of a commit can then leave a corrupt file. A journal on
        // disk (TRUNCATE: no file creation per commit) makes a SIGKILL
        // harmless; synchronous stays OFF, as fail2ban, so only a power loss
        // could still cost the last commits.
        conn.execute_batch(
            "PRAGMA foreign_keys = ON; PRAGMA synchronous = OFF; \
             PRAGMA journal_mode = TRUNCATE; PRAGMA temp_store = MEMORY;",
        )
        .map_err(sql("setting pragmas"))?;
        let mut db = Database {
            conn,
            path: path.to_string(),
            purge_age: 24 * 60 * 60,
            max_matches: 10,
            notes: Vec::new(),
        };
        let version: Option<i64> =
            match db
                .conn
                .query_row("SELECT version FROM fail2banDb LIMIT 1", [], |r| r.get(0))
            {
                Ok(v) => Some(v),
                Err(rusqlite::Error::QueryReturnedNoRows) => None,
                Err(rusqlite::Error::SqliteFailure(_, Some(msg)))
                    if msg.contains("no such table") =>
                {
                    None
                }
                Err(e) => return Err(sql("reading the schema version")(e)),
            };
        match version {
            None => {
                db.create().map_err(sql("creating tables"))?;
                db.notes
                    .push(format!("New database created. Version '{SCHEMA_VERSION}'"));
            }
            Some(v) if v > SCHEMA_VERSION => {
                return Err(DbError::FutureVersion {
                    path: path.to_string(),
                    found: v,
                })
            }
            Some(v) if v < SCHEMA_VERSION => {
                db.upgrade(v).map_err(sql("upgrading the schema"))?;
                db.notes
                    .push(format!("Database updated from '{v}' to '{SCHEMA_VERSION}'"));
            }
            Some(_) => {}
        }
        Ok(db)
    }

    fn err(&self, action: &'static str) -> impl Fn(rusqlite::Error) -> DbError + '_ {
        move |source| DbError::Sqlite {
            path: self.path.clone(),
            action,
            source,
        }
    }

    /// Runs `sql` through the connection's statement cache: jail starts,
    /// log positions and bans repeat the same few statements, and preparing
    /// one anew each time was most of their cost.
    fn exec(&self, sql: &str, p: impl rusqlite::Params) -> rusqlite::Result<usize> {
        self.conn.prepare_cached(sql)?.execute(p)
    }

    /// One row of `sql`, through the statement cache (see [`Database::exec`]).
    fn row<T>(
        &self,
        sql: &str,
        p: impl rusqlite::Params,
        f: impl FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> rusqlite::Result<T> {
        self.conn.prepare_cached(sql)?.query_row(p, f)
    }

    /// The file this database lives in (`:memory:` for none).
    pub fn filename(&self) -> &str {
        &self.path
    }

    /// Registers a jail as enabled (`addJail`).
    pub fn add_jail(&self, jail: &str) -> Result<(), DbError> {
        self.exec(
            "INSERT OR IGNORE INTO jails(name, enabled) VALUES(?1, 1)",
            params![jail],
        )
        .and_then(|_| {
            self.exec(
                "UPDATE jails SET enabled = 1 WHERE name = ?1 AND enabled != 1",
                params![jail],
            )
        })
        .map(|_| ())
        .map_err(self.err("adding jail"))
    }

    /// Marks a jail disabled (`delJail`), or all jails with `None`.
    pub fn del_jail(&self, jail: Option<&str>) -> Result<(), DbError> {
        match jail {
            Some(j) => self.exec("UPDATE jails SET enabled=0 WHERE name=?1", params![j]),
            None => self.exec("UPDATE jails SET enabled=0", []),
        }
        .map(|_| ())
        .map_err(self.err("disabling jail"))
    }

    /// Jail names, optionally only enabled or disabled ones.
    pub fn jail_names(&self, enabled: Option<bool>) -> Result<Vec<String>, DbError> {
        let (sql, arg) = match enabled {
            None => ("SELECT name FROM jails WHERE ?1 IS NULL", None),
            Some(e) => (
                "SELECT name FROM jails WHERE enabled=?1",
                Some(i64::from(e)),
            ),
        };
        let mut stmt = self
            .conn
            .prepare_cached(sql)
            .map_err(self.err("listing jails"))?;
        let rows = stmt
            .query_map(params![arg], |r| r.get::<_, String>(0))
            .map_err(self.err("listing jails"))?;
        rows.collect::<Result<_, _>>()
            .map_err(self.err("listing jails"))
    }

    /// Registers a log file; returns the stored position when the first
    /// line's MD5 still matches, so reading resumes there (`addLog`).
    pub fn add_log(
        &self,
        jail: &str,
        path: &str,
        pos: u64,
        md5: Option<&str>,
    ) -> Result<Option<u64>, DbError> {
        let row: Option<(Option<String>, Option<i64>)> = self
            .row(
                "SELECT firstlinemd5, lastfilepos FROM logs WHERE jail=?1 AND path=?2",
                params![jail, path],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(self.err("reading log position"))?;
        let (stored_md5, mut last) = match row {
            Some((m, p)) => (m, p.map(|p| p.max(0) as u64)),
            None => (None, None),
        };
        if stored_md5.is_none() && (pos != 0 || md5.is_some()) {
            self.exec(
                    "INSERT OR REPLACE INTO logs(jail, path, firstlinemd5, lastfilepos) VALUES(?1, ?2, ?3, ?4)",
                    params![jail, path, md5, pos as i64],
                )
                .map_err(self.err("adding log"))?;
        }
        if md5.is_some() && md5 != stored_md5.as_deref() {
            last = None;
        }
        Ok(last)
    }

    /// Stores the current position in a log (`updateLog`).
    pub fn update_log(
        &self,
        jail: &str,
        path: &str,
        pos: u64,
        md5: Option<&str>,
    ) -> Result<(), DbError> {
        let n = self
            .exec(
                "UPDATE logs SET firstlinemd5=?1, lastfilepos=?2 WHERE jail=?3 AND path=?4",
                params![md5, pos as i64, jail, path],
            )
            .map_err(self.err("updating log position"))?;
        if n == 0 {
            self.exec(
                    "INSERT OR REPLACE INTO logs(jail, path, firstlinemd5, lastfilepos) VALUES(?1, ?2, ?3, ?4)",
                    params![jail, path, md5, pos as i64],
                )
                .map_err(self.err("updating log position"))?;
        }
        Ok(())
    }

    /// The stored position of a journal (`getJournalPos`): the time of the
    /// last entry read (fail2ban keeps it in `lastfilepos`) and, in
    /// `firstlinemd5`, what ironban writes there: the entry's cursor.
    pub fn journal_pos(
        &self,
        jail: &str,
        name: &str,
    ) -> Result<Option<(f64, Option<String>)>, DbError> {
        self.row(
            "SELECT lastfilepos, firstlinemd5 FROM logs WHERE jail=?1 AND path=?2",
            params![jail, name],
            |r| {
                let pos: Option<f64> = r.get(0)?;
                Ok((pos.unwrap_or(0.0), r.get::<_, Option<String>>(1)?))
            },
        )
        .optional()
        .map_err(self.err("reading journal position"))
    }

    /// Stores a journal position: the entry time and its cursor
    /// (`updateJournal`).
    pub fn update_journal(
        &self,
        jail: &str,
        name: &str,
        time: f64,
        cursor: &str,
    ) -> Result<(), DbError> {
        self.exec(
                "INSERT OR REPLACE INTO logs(jail, path, firstlinemd5, lastfilepos) VALUES(?1, ?2, ?3, ?4)",
                params![jail, name, cursor, time],
            )
            .map(|_| ())
            .map_err(self.err("updating journal position"))
    }

    /// Records a ban in the history and as the address's current ban
    /// (`addBan`). `data` is the ticket data as JSON text; its `matches`
    /// are cut to the last `max_matches` here.
    pub fn add_ban(&self, jail: &str, ban: &BanRecord) -> Result<(), DbError> {
        let data = trim_matches(&ban.data, self.max_matches);
        let tx = self
            .conn
            .unchecked_transaction()
            .map_err(self.err("adding ban"))?;
        for sql in [
            "INSERT INTO bans(jail, ip, timeofban, bantime, bancount, data) VALUES(?1, ?2, ?3, ?4, ?5, ?6)",
            "INSERT OR REPLACE INTO bips(jail, ip, timeofban, bantime, bancount, data) VALUES(?1, ?2, ?3, ?4, ?5, ?6)",
        ] {
            // The statements run inside `tx` (same connection).
            self.exec(
                sql,
                // fail2ban (Python 3) stores the JSON as a BLOB; do the same.
                params![jail, ban.ip, ban.timeofban, ban.bantime, ban.bancount, data.as_bytes()],
            )
            .map_err(self.err("adding ban"))?;
        }
        tx.commit().map_err(self.err("adding ban"))
    }

    /// Forgets bans of a jail: the given addresses, or all with an empty
    /// slice (`delBan`).
    pub fn del_ban(&self, jail: &str, ips: &[&str]) -> Result<(), DbError> {
        let tx = self
            .conn
            .unchecked_transaction()
            .map_err(self.err("removing ban"))?;
        if ips.is_empty() {
            for sql in [
                "DELETE FROM bips WHERE jail = ?1",
                "DELETE FROM bans WHERE jail = ?1",
            ] {
                self.exec(sql, params![jail])
                    .map_err(self.err("removing ban"))?;
            }
        } else {
            for ip in ips {
                for sql in [
                    "DELETE FROM bips WHERE jail = ?1 AND ip = ?2",
                    "DELETE FROM bans WHERE jail = ?1 AND ip = ?2",
                ] {
                    self.exec(sql, params![jail, ip])
                        .map_err(self.err("removing ban"))?;
                }
            }
        }
        tx.commit().map_err(self.err("removing ban"))
    }

    /// The ban history of an address for `bantime.increment` (`getBan`):
    /// in one jail, or summed over all with `overalljails`.
    pub fn get_ban(
        &self,
        ip: &str,
        jail: Option<&str>,
        overalljails: bool,
        since: Option<i64>,
    ) -> Result<Option<BanHistory>, DbError> {
        let overall = overalljails || jail.is_none();
        let mut sql = if overall {
            "SELECT sum(bancount), max(timeofban), sum(bantime) FROM bips".to_string()
        } else {
            "SELECT bancount, timeofban, bantime FROM bips".to_string()
        };
        sql.push_str(
            " WHERE ip = ?1 AND (?2 IS NULL OR jail = ?2) AND (?3 IS NULL OR timeofban > ?3)",
        );
        if overall {
            sql.push_str(" GROUP BY ip ORDER BY timeofban DESC LIMIT 1");
        }
        let jail = if overall { None } else { jail };
        self.row(&sql, params![ip, jail, since], |r| {
            Ok(BanHistory {
                bancount: r.get::<_, Option<i64>>(0)?.unwrap_or(0),
                timeofban: r.get::<_, Option<f64>>(1)?.unwrap_or(0.0) as i64,
                bantime: r.get::<_, Option<i64>>(2)?.unwrap_or(0),
            })
        })
        .optional()
        .map_err(self.err("reading ban"))
    }

    /// Bans of a jail still in force at `now`, to restore at start
    /// (`getCurrentBans`). `jail_bantime` replaces the unknown bantime (-2)
    /// of rows upgraded from old schemas; `max_bantime` (when not
    /// permanent) caps longer or permanent bans as fail2ban does.
    pub fn current_bans(
        &self,
        jail: &str,
        now: i64,
        jail_bantime: i64,
        max_bantime: Option<i64>,
    ) -> Result<Vec<BanRecord>, DbError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT ip, timeofban, bantime, bancount, data FROM bips WHERE jail=?1 \
                 AND (timeofban + bantime > ?2 OR bantime < 0) ORDER BY ip, timeofban DESC",
            )
            .map_err(self.err("reading current bans"))?;
        let rows = stmt
            .query_map(params![jail, now], |r| {
                Ok(BanRecord {
                    ip: r.get::<_, Option<String>>(0)?.unwrap_or_default(),
                    timeofban: r.get::<_, f64>(1)? as i64,
                    bantime: r.get(2)?,
                    bancount: r.get(3)?,
                    data: json_text(r.get_ref(4)?),
                })
            })
            .map_err(self.err("reading current bans"))?;
        let mut out = Vec::new();
        for row in rows {
            let mut ban = row.map_err(self.err("reading current bans"))?;
            if ban.ip.is_empty() {
                continue;
            }
            if ban.bantime == -2 {
                ban.bantime = jail_bantime;
            } else if let Some(max) = max_bantime.filter(|m| *m >= 0) {
                if ban.bantime < 0 || ban.bantime > max {
                    ban.bantime = max;
                }
            }
            if ban.bantime >= 0 && ban.timeofban + ban.bantime <= now {
                continue;
            }
            out.push(ban);
        }
        Ok(out)
    }

    /// Drops history older than `purge_age`, stale `bips` rows (never a
    /// permanent one) and disabled jails with nothing left (`purge`).
    pub fn purge(&self, now: i64) -> Result<(), DbError> {
        let cutoff = now - self.purge_age;
        self.exec("DELETE FROM bans WHERE timeofban < ?1", params![cutoff])
            .and_then(|_| {
                self.exec(
                    "DELETE FROM bips WHERE timeofban < ?1 AND bantime >= 0 AND (timeofban + (bantime * 3)) < ?1",
                    params![cutoff],
                )
            })
            .and_then(|_| {
                self.exec(
                    "DELETE FROM jails WHERE enabled = 0 \
                     AND NOT EXISTS(SELECT * FROM bans WHERE jail = jails.name) \
                     AND NOT EXISTS(SELECT * FROM bips WHERE jail = jails.name)",
                    [],
                )
            })
            .map(|_| ())
            .map_err(self.err("purging"))
    }
}

/// The `data` column as text: fail2ban writes a BLOB, older versions TEXT.
fn json_text(v: rusqlite::types::ValueRef<'_>) -> String {
    use rusqlite::types::ValueRef;
    match v {
        ValueRef::Text(t) | ValueRef::Blob(t) => String::from_utf8_lossy(t).into_owned(),
        _ => "{}".to_string(),
    }
}

/// Keeps only the last `max` entries of a JSON object's `matches` list.
fn trim_matches(data: &str, max: usize) -> String {
    let Ok(mut v) = serde_json::from_str::<serde_json::Value>(data) else {
        return data.to_string();
    };
    if let Some(obj) = v.as_object_mut() {
        if max == 0 {
            obj.remove("matches");
        } else if let Some(serde_json::Value::Array(m)) = obj.get_mut("matches") {
            if m.len() > max {
                let cut = m.len() - max;
                m.drain(..cut);
            }
        }
    }
    v.to_string()
}

mod repair;
mod schema;

#[cfg(test)]
mod tests;

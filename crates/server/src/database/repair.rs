//! A corrupt database file: moved aside, every readable row salvaged into a
//! fresh one (fail2ban: `database.py` `repairDB`, which shells out to
//! `sqlite3 .dump` instead).

use rusqlite::{Connection, OpenFlags};

use super::{Database, DbError};

impl Database {
    /// Moves a corrupt file aside and salvages every readable row of the
    /// known tables into a fresh database.
    pub(super) fn repair(path: &str, why: &str) -> Result<Database, DbError> {
        let stamp = chrono_stamp();
        let backup = format!("{path}.{stamp}");
        std::fs::rename(path, &backup).map_err(|source| DbError::Backup {
            path: path.to_string(),
            backup: backup.clone(),
            source,
        })?;
        let mut db = Database::connect(path)?;
        db.notes.push(format!(
            "Database {path} was corrupt ({why}); moved to {backup}"
        ));
        let mut salvaged = 0usize;
        if let Ok(old) = Connection::open_with_flags(&backup, OpenFlags::SQLITE_OPEN_READ_ONLY) {
            for table in ["jails", "logs", "bans", "bips"] {
                salvaged += db.copy_rows(&old, table);
            }
        }
        db.notes
            .push(format!("Repair of {path}: {salvaged} row(s) salvaged"));
        Ok(db)
    }

    fn copy_rows(&self, old: &Connection, table: &str) -> usize {
        let Ok(mut stmt) = old.prepare(&format!("SELECT * FROM {table}")) else {
            return 0;
        };
        let ncol = stmt.column_count();
        let marks = vec!["?"; ncol].join(", ");
        let insert = format!("INSERT OR IGNORE INTO {table} VALUES({marks})");
        let Ok(mut rows) = stmt.query([]) else {
            return 0;
        };
        let mut n = 0;
        // Stop at the first unreadable row: past corruption nothing is trustworthy.
        while let Ok(Some(row)) = rows.next() {
            let vals: Vec<rusqlite::types::Value> =
                (0..ncol).filter_map(|i| row.get(i).ok()).collect();
            if vals.len() == ncol
                && self
                    .conn
                    .execute(&insert, rusqlite::params_from_iter(vals))
                    .is_ok()
            {
                n += 1;
            }
        }
        n
    }
}

pub(super) fn is_corruption(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseCorrupt) | Some(rusqlite::ErrorCode::NotADatabase)
    )
}

/// `YYYYmmdd-HHMMSS` in UTC, as fail2ban names its backup.
fn chrono_stamp() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let days = secs.div_euclid(86400);
    let rem = secs.rem_euclid(86400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}{m:02}{d:02}-{:02}{:02}{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719468;
    let era = z.div_euclid(146097);
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

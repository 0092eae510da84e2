//! The analysis cache: per-file facts the engine derives (today: a file's
//! imports, for the test-impact graph), in SQLite at
//! `$XDG_STATE_HOME/orch/cache.sqlite`.
//!
//! A fact is keyed by what it is derived from — the file's content hash,
//! the kind of fact and [`FACTS_VERSION`] with orch's version — so it holds
//! for any file with the same bytes in any project, and a file that
//! changes misses. Many orch processes share the file: WAL mode, a busy
//! timeout, and each batch of writes in one transaction. Entries are
//! evicted least recently used by bytes once the total passes
//! `ORCHESTRATOR_CACHE_SIZE_MB` (256 by default), down to 90% of it. The
//! cache is an optimisation: when it cannot be opened or written, the
//! analysis runs without it (and says so in the logs).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rusqlite::{Connection, OptionalExtension, params};

/// Bumped when a fact's format or derivation changes.
pub(crate) const FACTS_VERSION: u32 = 3;

/// How the cache failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Error {
    #[error("analysis cache {path}: {source}")]
    Sqlite {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("analysis cache: {0}")]
    Io(#[from] std::io::Error),
}

/// What `orch cache stats` shows.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub(crate) struct Stats {
    pub path: String,
    pub entries: u64,
    pub bytes: u64,
    pub limit_bytes: u64,
    /// (kind, entries, bytes).
    pub kinds: Vec<(String, u64, u64)>,
}

pub(crate) struct Cache {
    path: PathBuf,
    connection: Mutex<Connection>,
    limit_bytes: u64,
}

/// Runs `step` again while SQLite answers "busy" or "locked", for up to
/// 10 seconds (backing off from 5 ms to 200 ms).
fn retry_busy<T>(mut step: impl FnMut() -> rusqlite::Result<T>) -> rusqlite::Result<T> {
    let started = std::time::Instant::now();
    let mut pause = std::time::Duration::from_millis(5);
    loop {
        match step() {
            Err(rusqlite::Error::SqliteFailure(e, _))
                if matches!(
                    e.code,
                    rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
                ) && started.elapsed() < std::time::Duration::from_secs(10) =>
            {
                std::thread::sleep(pause);
                pause = (pause * 2).min(std::time::Duration::from_millis(200));
            }
            other => return other,
        }
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// The key of a fact of `kind` about `content`.
pub(crate) fn key(kind: &str, content: &[u8]) -> String {
    use sha1::Digest as _;
    let mut hasher = sha1::Sha1::new();
    hasher.update(format!("{}\0{FACTS_VERSION}\0{kind}\0", env!("CARGO_PKG_VERSION")).as_bytes());
    // The content in one piece (a byte at a time costs as much as the
    // rest of a warm analysis in a debug build).
    hasher.update(content);
    crate::plan::hex(&hasher.finalize())
}

impl Cache {
    /// Opens (creating) the cache at `path`, holding at most `limit_mb`.
    pub(crate) fn open(path: &Path, limit_mb: u64) -> Result<Self, Error> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let sqlite = |source| Error::Sqlite {
            path: path.to_owned(),
            source,
        };
        let connection = Connection::open(path).map_err(sqlite)?;
        connection
            .busy_timeout(std::time::Duration::from_secs(10))
            .map_err(sqlite)?;
        // Switching to WAL and creating the table take locks SQLite does not
        // always wait for (another process opening the cache at the same
        // moment answers "database is locked" at once): retry for a while.
        let setup = || -> rusqlite::Result<()> {
            connection.pragma_update(None, "journal_mode", "WAL")?;
            connection.pragma_update(None, "synchronous", "NORMAL")?;
            connection.execute_batch(
                "CREATE TABLE IF NOT EXISTS facts (
                    key TEXT PRIMARY KEY,
                    kind TEXT NOT NULL,
                    value BLOB NOT NULL,
                    bytes INTEGER NOT NULL,
                    used INTEGER NOT NULL
                );
                CREATE INDEX IF NOT EXISTS facts_used ON facts (used);",
            )
        };
        retry_busy(setup).map_err(sqlite)?;
        Ok(Cache {
            path: path.to_owned(),
            connection: Mutex::new(connection),
            limit_bytes: limit_mb.saturating_mul(1024 * 1024),
        })
    }

    /// The cache in orch's state directory, sized by
    /// `ORCHESTRATOR_CACHE_SIZE_MB`; `None` (logged) when it cannot be used.
    pub(crate) fn open_default() -> Option<Self> {
        let limit = std::env::var("ORCHESTRATOR_CACHE_SIZE_MB")
            .ok()
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(crate::settings::DEFAULT_CACHE_SIZE_MB);
        let path = crate::state::state_home().ok()?.join("cache.sqlite");
        match Cache::open(&path, limit) {
            Ok(cache) => Some(cache),
            Err(error) => {
                tracing::warn!(%error, "analysis cache unavailable; analysing without it");
                None
            }
        }
    }

    fn error(&self, source: rusqlite::Error) -> Error {
        Error::Sqlite {
            path: self.path.clone(),
            source,
        }
    }

    /// A write transaction, its lock taken at `BEGIN` (so SQLite's busy
    /// timeout applies): a deferred one that reads first cannot wait for
    /// the write lock in WAL mode and fails at once when another process
    /// wrote meanwhile.
    fn write<'c>(
        &self,
        connection: &'c mut Connection,
    ) -> Result<rusqlite::Transaction<'c>, Error> {
        connection
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(|e| self.error(e))
    }

    /// The cached values of `keys` that exist (and marks them used).
    pub(crate) fn get_many(&self, keys: &[String]) -> Result<HashMap<String, Vec<u8>>, Error> {
        let mut found = HashMap::new();
        let Ok(mut connection) = self.connection.lock() else {
            return Ok(found);
        };
        let transaction = self.write(&mut connection)?;
        {
            let mut select = transaction
                .prepare_cached("SELECT value FROM facts WHERE key = ?1")
                .map_err(|e| self.error(e))?;
            let mut touch = transaction
                .prepare_cached("UPDATE facts SET used = ?2 WHERE key = ?1")
                .map_err(|e| self.error(e))?;
            let now = now_ms();
            for key in keys {
                let value: Option<Vec<u8>> = select
                    .query_row(params![key], |row| row.get(0))
                    .optional()
                    .map_err(|e| self.error(e))?;
                if let Some(value) = value {
                    touch
                        .execute(params![key, now])
                        .map_err(|e| self.error(e))?;
                    found.insert(key.clone(), value);
                }
            }
        }
        transaction.commit().map_err(|e| self.error(e))?;
        Ok(found)
    }

    /// Stores facts of `kind` (key, value), then evicts if over the limit.
    pub(crate) fn put_many(&self, kind: &str, entries: &[(String, Vec<u8>)]) -> Result<(), Error> {
        if entries.is_empty() {
            return Ok(());
        }
        let Ok(mut connection) = self.connection.lock() else {
            return Ok(());
        };
        let transaction = self.write(&mut connection)?;
        {
            let mut insert = transaction
                .prepare_cached(
                    "INSERT OR REPLACE INTO facts (key, kind, value, bytes, used) VALUES (?1, ?2, ?3, ?4, ?5)",
                )
                .map_err(|e| self.error(e))?;
            let now = now_ms();
            for (key, value) in entries {
                let bytes = (key.len() + value.len()) as i64;
                insert
                    .execute(params![key, kind, value, bytes, now])
                    .map_err(|e| self.error(e))?;
            }
        }
        Self::evict(&transaction, self.limit_bytes).map_err(|e| self.error(e))?;
        transaction.commit().map_err(|e| self.error(e))
    }

    /// Least recently used first, down to 90% of the limit.
    fn evict(connection: &Connection, limit: u64) -> rusqlite::Result<()> {
        let total: i64 =
            connection.query_row("SELECT COALESCE(SUM(bytes), 0) FROM facts", [], |r| {
                r.get(0)
            })?;
        let mut excess = total - (limit as i64);
        if excess <= 0 {
            return Ok(());
        }
        excess += (limit as i64) / 10;
        let mut oldest = connection.prepare("SELECT key, bytes FROM facts ORDER BY used, key")?;
        let rows: Vec<(String, i64)> = oldest
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        let mut delete = connection.prepare("DELETE FROM facts WHERE key = ?1")?;
        for (key, bytes) in rows {
            if excess <= 0 {
                break;
            }
            delete.execute(params![key])?;
            excess -= bytes;
        }
        Ok(())
    }

    pub(crate) fn stats(&self) -> Result<Stats, Error> {
        let mut stats = Stats {
            path: self.path.display().to_string(),
            limit_bytes: self.limit_bytes,
            ..Stats::default()
        };
        let Ok(connection) = self.connection.lock() else {
            return Ok(stats);
        };
        let mut by_kind = connection
            .prepare("SELECT kind, COUNT(*), SUM(bytes) FROM facts GROUP BY kind ORDER BY kind")
            .map_err(|e| self.error(e))?;
        let kinds: Vec<(String, i64, i64)> = by_kind
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .map_err(|e| self.error(e))?
            .collect::<rusqlite::Result<_>>()
            .map_err(|e| self.error(e))?;
        for (kind, entries, bytes) in kinds {
            stats.entries += entries as u64;
            stats.bytes += bytes as u64;
            stats.kinds.push((kind, entries as u64, bytes as u64));
        }
        Ok(stats)
    }

    /// Removes every entry (and gives the space back).
    pub(crate) fn clear(&self) -> Result<u64, Error> {
        let Ok(connection) = self.connection.lock() else {
            return Ok(0);
        };
        let removed = connection
            .execute("DELETE FROM facts", [])
            .map_err(|e| self.error(e))?;
        connection
            .execute_batch("VACUUM")
            .map_err(|e| self.error(e))?;
        Ok(removed as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facts_round_trip_and_the_least_recently_used_go_first() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cache.sqlite");
        // A 1 MiB limit, and entries of ~100 kB.
        let cache = Cache::open(&path, 1).unwrap();
        let value = vec![7u8; 100_000];
        let keys: Vec<String> = (0..8)
            .map(|i| key("imports", format!("file {i}").as_bytes()))
            .collect();
        for k in &keys {
            cache
                .put_many("imports", &[(k.clone(), value.clone())])
                .unwrap();
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        // Touch the first: it becomes the most recently used.
        assert_eq!(cache.get_many(&keys[..1]).unwrap().len(), 1);
        std::thread::sleep(std::time::Duration::from_millis(2));
        let more: Vec<String> = (8..14)
            .map(|i| key("imports", format!("file {i}").as_bytes()))
            .collect();
        for k in &more {
            cache
                .put_many("imports", &[(k.clone(), value.clone())])
                .unwrap();
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        let stats = cache.stats().unwrap();
        assert!(stats.bytes <= stats.limit_bytes, "{stats:?}");
        let kept = cache.get_many(&keys).unwrap();
        assert!(kept.contains_key(&keys[0]), "the touched entry stays");
        assert!(
            !kept.contains_key(&keys[1]),
            "the oldest untouched entry went"
        );
        assert_eq!(cache.get_many(&more[5..]).unwrap()[&more[5]], value);
        // Another process's view (another connection) agrees.
        let other = Cache::open(&path, 1).unwrap();
        assert_eq!(other.stats().unwrap().entries, stats.entries);
        assert_eq!(other.clear().unwrap(), stats.entries);
        assert_eq!(cache.stats().unwrap().entries, 0);
        // Keys depend on the kind and the content.
        assert_ne!(key("imports", b"x"), key("definitions", b"x"));
        assert_ne!(key("imports", b"x"), key("imports", b"y"));
    }

    /// Several processes at once (a connection each, opened over and over,
    /// reading and marking entries used while others write): nothing is
    /// lost and nobody fails with "database is locked" (a reader that
    /// upgraded to a writer in WAL mode used to, under load).
    #[test]
    fn a_key_is_the_hash_of_the_version_kind_and_content() {
        let content = b"def f():\n    return 1\n";
        let mut whole =
            format!("{}\0{FACTS_VERSION}\0file\0", env!("CARGO_PKG_VERSION")).into_bytes();
        whole.extend_from_slice(content);
        assert_eq!(key("file", content), crate::plan::sha1_hex(&whole));
        assert_ne!(key("file", content), key("tree", content));
    }

    #[test]
    fn concurrent_writers_do_not_lose_entries() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cache.sqlite");
        let threads: Vec<_> = (0..6)
            .map(|t| {
                let path = path.clone();
                std::thread::spawn(move || {
                    let mut cache = Cache::open(&path, 256).unwrap();
                    for i in 0..40 {
                        if i % 8 == 0 {
                            cache = Cache::open(&path, 256).unwrap();
                        }
                        let k = key("imports", format!("{t}-{i}").as_bytes());
                        let earlier = key("imports", format!("{}-{i}", (t + 1) % 6).as_bytes());
                        cache.get_many(&[earlier, k.clone()]).unwrap();
                        cache.put_many("imports", &[(k, vec![1, 2, 3])]).unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(
            Cache::open(&path, 256).unwrap().stats().unwrap().entries,
            240
        );
    }
}

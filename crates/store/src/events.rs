//! Events: graphite-web's "something happened at this time" records (deploys, releases),
//! which Grafana draws as annotations and the `events()` render function counts.
//!
//! graphite-web keeps them in its Django database; Charcoal keeps them in one SQLite file,
//! `STORAGE_DIR/events.db`, so they survive restarts without a database server. Every call
//! is blocking (the API calls it from the blocking pool) and commits before it returns: an
//! event the API acknowledged is on disk.
//!
//! # Model
//!
//! An event has an id (never reused, like Django's sqlite `AUTOINCREMENT` key), a time in
//! microseconds (graphite-web's `DateTimeField` precision), `what`, `data` and `tags`: the
//! tag text as posted (a list is joined with spaces, as graphite-web does), whose
//! whitespace-separated words are the event's tags. The words are also kept in their own
//! table so a tag query does not scan every event.
//!
//! # Differs from graphite-web
//!
//! graphite-web matches tags through django-tagging, which reads commas and double quotes
//! in the tag text as separators and quoting (`"x y" z` has the tags `x y` and `z`) while
//! the answer shows the space-separated words (`"x`, `y"`, `z`). Here the words are the tags,
//! so what a query matches is what the answer shows. django-tagging's "must have all tags"
//! also ignores a requested tag no event has ever had; here every requested tag must be
//! present.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rusqlite::{Connection, OptionalExtension, params, params_from_iter};

/// One stored event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    /// Its id.
    pub id: i64,
    /// When it happened, in microseconds since the epoch.
    pub when_us: i64,
    /// What happened.
    pub what: String,
    /// Free text.
    pub data: String,
    /// The tag text: whitespace-separated words.
    pub tags: String,
}

impl Event {
    /// The event's tags (the words of its tag text).
    pub fn tag_list(&self) -> Vec<&str> {
        self.tags.split_whitespace().collect()
    }
}

/// An event to store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewEvent {
    /// When it happened, in microseconds since the epoch.
    pub when_us: i64,
    /// What happened.
    pub what: String,
    /// Free text.
    pub data: String,
    /// The tag text.
    pub tags: String,
}

/// How a query's tags select events.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum TagMatch {
    /// The event has every tag (graphite-web's default and `set=intersection`).
    #[default]
    All,
    /// The event has at least one of the tags (`set=union`).
    Any,
}

/// Which events to list.
#[derive(Clone, Debug, Default)]
pub struct EventQuery {
    /// Earliest time, microseconds, inclusive.
    pub from_us: i64,
    /// Latest time, microseconds, inclusive.
    pub until_us: i64,
    /// Tags to select by; `None` selects every event in the range.
    pub tags: Option<Vec<String>>,
    /// How the tags select.
    pub matching: TagMatch,
}

/// Why the events database failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EventsError {
    /// The file could not be opened or prepared.
    #[error("cannot open the events database {path}: {source}")]
    Open {
        /// The database file.
        path: PathBuf,
        /// What SQLite said.
        source: rusqlite::Error,
    },
    /// A statement failed.
    #[error("events database: {0}")]
    Sqlite(#[from] rusqlite::Error),
}

/// The events database.
#[derive(Debug)]
pub struct EventStore {
    // One connection behind a mutex: events are few and small, and one writer at a time
    // is what SQLite allows anyway.
    conn: Mutex<Connection>,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    when_us INTEGER NOT NULL,
    what TEXT NOT NULL,
    data TEXT NOT NULL DEFAULT '',
    tags TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS events_when ON events (when_us, id);
CREATE TABLE IF NOT EXISTS event_tags (
    tag TEXT NOT NULL,
    event_id INTEGER NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    PRIMARY KEY (tag, event_id)
) WITHOUT ROWID;
";

impl EventStore {
    /// Opens (creating if needed) the database at `path`.
    pub fn open(path: &Path) -> Result<EventStore, EventsError> {
        let open = || -> Result<Connection, rusqlite::Error> {
            let conn = Connection::open(path)?;
            // WAL: readers never wait for a writer; FULL: a committed event survives a
            // power cut, which costs little at the rate events arrive.
            conn.pragma_update(None, "journal_mode", "WAL")?;
            conn.pragma_update(None, "synchronous", "FULL")?;
            conn.pragma_update(None, "foreign_keys", true)?;
            conn.busy_timeout(std::time::Duration::from_secs(5))?;
            conn.execute_batch(SCHEMA)?;
            Ok(conn)
        };
        let conn = open().map_err(|source| EventsError::Open {
            path: path.to_path_buf(),
            source,
        })?;
        Ok(EventStore {
            conn: Mutex::new(conn),
        })
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        // A panic while holding the lock leaves no half-done transaction (it rolls back when
        // dropped), so the connection is still usable.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Stores an event and returns its id.
    pub fn add(&self, event: &NewEvent) -> Result<i64, EventsError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        tx.execute(
            "INSERT INTO events (when_us, what, data, tags) VALUES (?1, ?2, ?3, ?4)",
            params![event.when_us, event.what, event.data, event.tags],
        )?;
        let id = tx.last_insert_rowid();
        {
            let mut insert =
                tx.prepare("INSERT OR IGNORE INTO event_tags (tag, event_id) VALUES (?1, ?2)")?;
            for tag in event.tags.split_whitespace() {
                insert.execute(params![tag, id])?;
            }
        }
        tx.commit()?;
        Ok(id)
    }

    /// The events a query selects, oldest first (ties in id order).
    pub fn find(&self, query: &EventQuery) -> Result<Vec<Event>, EventsError> {
        let mut sql = String::from(
            "SELECT id, when_us, what, data, tags FROM events WHERE when_us >= ?1 AND when_us <= ?2",
        );
        let mut values: Vec<rusqlite::types::Value> =
            vec![query.from_us.into(), query.until_us.into()];
        if let Some(tags) = &query.tags {
            let mut tags: Vec<&str> = tags.iter().map(String::as_str).collect();
            tags.sort_unstable();
            tags.dedup();
            if tags.is_empty() {
                return Ok(Vec::new());
            }
            let marks = vec!["?"; tags.len()].join(", ");
            sql.push_str(&format!(
                " AND id IN (SELECT event_id FROM event_tags WHERE tag IN ({marks}) GROUP BY event_id"
            ));
            if query.matching == TagMatch::All {
                sql.push_str(&format!(" HAVING COUNT(*) = {}", tags.len()));
            }
            sql.push(')');
            values.extend(tags.iter().map(|t| (*t).to_owned().into()));
        }
        sql.push_str(" ORDER BY when_us, id");
        let conn = self.conn();
        let mut stmt = conn.prepare(&sql)?;
        let rows = stmt.query_map(params_from_iter(values), row_to_event)?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    /// The event `id`, if stored.
    pub fn get(&self, id: i64) -> Result<Option<Event>, EventsError> {
        let conn = self.conn();
        Ok(conn
            .query_row(
                "SELECT id, when_us, what, data, tags FROM events WHERE id = ?1",
                params![id],
                row_to_event,
            )
            .optional()?)
    }

    /// Deletes the event `id`; whether it existed.
    pub fn delete(&self, id: i64) -> Result<bool, EventsError> {
        let conn = self.conn();
        // The tag rows go with it (ON DELETE CASCADE).
        Ok(conn.execute("DELETE FROM events WHERE id = ?1", params![id])? > 0)
    }
}

fn row_to_event(row: &rusqlite::Row<'_>) -> Result<Event, rusqlite::Error> {
    Ok(Event {
        id: row.get(0)?,
        when_us: row.get(1)?,
        what: row.get(2)?,
        data: row.get(3)?,
        tags: row.get(4)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new(when: i64, what: &str, tags: &str) -> NewEvent {
        NewEvent {
            when_us: when * 1_000_000,
            what: what.into(),
            data: String::new(),
            tags: tags.into(),
        }
    }

    fn query(tags: Option<&[&str]>, matching: TagMatch) -> EventQuery {
        EventQuery {
            from_us: 0,
            until_us: i64::MAX,
            tags: tags.map(|t| t.iter().map(|s| (*s).to_owned()).collect()),
            matching,
        }
    }

    fn whats(store: &EventStore, q: &EventQuery) -> Vec<String> {
        store.find(q).unwrap().into_iter().map(|e| e.what).collect()
    }

    #[test]
    fn tags_select_all_or_any_and_time_is_inclusive() {
        let dir = tempfile::tempdir().unwrap();
        let store = EventStore::open(&dir.path().join("events.db")).unwrap();
        store.add(&new(300, "c", "prod db")).unwrap();
        store.add(&new(100, "a", "prod web")).unwrap();
        store.add(&new(200, "b", "b a a")).unwrap();
        store.add(&new(200, "b2", "")).unwrap();

        assert_eq!(
            whats(&store, &query(None, TagMatch::All)),
            ["a", "b", "b2", "c"]
        );
        let all = query(Some(&["prod", "web"]), TagMatch::All);
        assert_eq!(whats(&store, &all), ["a"]);
        let any = query(Some(&["web", "db"]), TagMatch::Any);
        assert_eq!(whats(&store, &any), ["a", "c"]);
        // A repeated tag counts once on both sides.
        let dup = query(Some(&["a", "a"]), TagMatch::All);
        assert_eq!(whats(&store, &dup), ["b"]);
        let unknown = query(Some(&["prod", "nope"]), TagMatch::All);
        assert!(whats(&store, &unknown).is_empty());
        assert!(whats(&store, &query(Some(&[]), TagMatch::Any)).is_empty());

        let mut range = query(None, TagMatch::All);
        range.from_us = 200_000_000;
        range.until_us = 300_000_000;
        assert_eq!(whats(&store, &range), ["b", "b2", "c"]);
        range.until_us -= 1;
        assert_eq!(whats(&store, &range), ["b", "b2"]);
    }

    #[test]
    fn events_survive_reopening_and_ids_are_not_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.db");
        let (first, second) = {
            let store = EventStore::open(&path).unwrap();
            (
                store.add(&new(1, "one", "x")).unwrap(),
                store.add(&new(2, "two", "x y")).unwrap(),
            )
        };
        let store = EventStore::open(&path).unwrap();
        let got = store.get(second).unwrap().unwrap();
        assert_eq!((got.what.as_str(), got.tag_list()), ("two", vec!["x", "y"]));
        assert!(store.delete(second).unwrap());
        assert!(!store.delete(second).unwrap());
        assert_eq!(store.get(second).unwrap(), None);
        // The deleted event's tags are gone with it.
        let q = query(Some(&["y"]), TagMatch::Any);
        assert!(whats(&store, &q).is_empty());
        let third = store.add(&new(3, "three", "")).unwrap();
        assert!(third > second && second > first);
    }

    #[test]
    fn an_unopenable_path_is_an_open_error() {
        let dir = tempfile::tempdir().unwrap();
        let err = EventStore::open(&dir.path().join("missing/dir/events.db")).unwrap_err();
        assert!(matches!(err, EventsError::Open { .. }), "{err}");
    }
}

//! The render API's view of storage: the metric index for names, whisper files overlaid
//! with the write cache for values, the events database for `events()`. The query engine
//! defines the [`Source`] trait and the API the [`EventStore`] trait; these adapters are
//! the only place that knows both sides.

use std::path::PathBuf;
use std::sync::Arc;

use charcoal_api::events::{self as api_events, EventStore};
use charcoal_protocol::glob::PathPattern;
use charcoal_protocol::{MetricName, MetricNameRef};
use charcoal_query::{Fetched, Node, Source, SourceError};
use charcoal_store::events::{self as store_events, EventsError};
use charcoal_store::index::MetricIndex;
use charcoal_store::reader::Reader;
use charcoal_store::tags::TagIndex;

/// The index name of a metric: its file's path under the whisper directory, dotted
/// (`a.b.c`, or `_tagged.abc.def.<hash>` for a tagged series, as graphite-web lists it).
pub(crate) fn index_name(name: MetricNameRef<'_>) -> String {
    if !name.is_tagged() {
        // A plain name's file is its dots turned into directories: the name itself.
        return name.as_str().to_owned();
    }
    let path = name.relative_path();
    let text = path.to_string_lossy();
    text.strip_suffix(".wsp")
        .unwrap_or(&text)
        .replace(std::path::MAIN_SEPARATOR, ".")
}

pub(crate) struct StoreSource {
    pub(crate) index: Arc<MetricIndex>,
    pub(crate) tags: Arc<TagIndex>,
    pub(crate) reader: Reader,
    pub(crate) whisper_dir: PathBuf,
    pub(crate) max_find_results: usize,
    pub(crate) events: Arc<store_events::EventStore>,
}

impl StoreSource {
    /// A tagged name (`a;x=1`) is looked up by its hashed file, as graphite-web does.
    fn find_tagged_name(&self, pattern: &str) -> Result<Vec<Node>, SourceError> {
        let name = MetricName::parse(pattern).map_err(|e| SourceError::Pattern(e.to_string()))?;
        let exists = self.whisper_dir.join(name.relative_path()).is_file();
        Ok(if exists {
            vec![Node {
                path: name.as_str().to_owned(),
                is_leaf: true,
            }]
        } else {
            Vec::new()
        })
    }
}

impl Source for StoreSource {
    fn find(&self, pattern: &str) -> Result<Vec<Node>, SourceError> {
        if pattern.contains(';') && !pattern.starts_with("_tagged.") {
            return self.find_tagged_name(pattern);
        }
        let compiled =
            PathPattern::new(pattern).map_err(|e| SourceError::Pattern(e.to_string()))?;
        let found = self
            .index
            .find(&compiled, self.max_find_results)
            .map_err(|limit| {
                SourceError::Limit(format!(
                    "{pattern:?} matches more than {limit} metrics (limit --max-find-results)"
                ))
            })?;
        let mut out = Vec::with_capacity(found.len());
        for f in found {
            if f.is_branch {
                out.push(Node {
                    path: f.path.clone(),
                    is_leaf: false,
                });
            }
            if f.is_leaf {
                out.push(Node {
                    path: f.path,
                    is_leaf: true,
                });
            }
        }
        Ok(out)
    }

    fn fetch(
        &self,
        path: &str,
        from: i64,
        until: i64,
        now: i64,
    ) -> Result<Option<Fetched>, SourceError> {
        // Validated again: a name never reaches the filesystem unchecked.
        let Ok(name) = MetricName::parse(path) else {
            return Ok(None);
        };
        let read = self
            .reader
            .fetch(&name.relative_path(), name.as_str(), from, until, now);
        match read {
            Ok(Some(s)) => Ok(Some(Fetched {
                start: s.start,
                end: s.end,
                step: s.step,
                values: s.values,
            })),
            Ok(None) => Ok(None),
            // A corrupt or vanished file is one missing series, not a failed render.
            Err(e) => {
                tracing::warn!(metric = path, "cannot read: {e}");
                Ok(None)
            }
        }
    }

    fn interval(&self, path: &str, now: i64) -> Option<(f64, f64)> {
        let name = MetricName::parse(path).ok()?;
        self.reader.interval(&name.relative_path(), now)
    }

    /// The tag index's matches that have data: a file, or points in the cache (both put
    /// the name in the metric index). `/tags/findSeries` answers without this filter, as
    /// graphite-web's tag database does.
    fn find_tagged(&self, expressions: &[String]) -> Result<Vec<String>, SourceError> {
        let names = self
            .tags
            .find_series(expressions)
            .map_err(|e| SourceError::Pattern(e.to_string()))?;
        Ok(names
            .into_iter()
            .filter(|n| {
                MetricName::parse(n)
                    .is_ok_and(|name| self.index.contains(&index_name(name.as_name_ref())))
            })
            .collect())
    }

    fn list(&self) -> Result<Vec<String>, SourceError> {
        Ok(self.index.all())
    }

    fn events(
        &self,
        tags: Option<&[String]>,
        from: i64,
        until: i64,
    ) -> Result<Vec<i64>, SourceError> {
        let query = store_events::EventQuery {
            from_us: from.saturating_mul(1_000_000),
            until_us: until.saturating_mul(1_000_000),
            tags: tags.map(<[String]>::to_vec),
            matching: store_events::TagMatch::All,
        };
        let found = self
            .events
            .find(&query)
            .map_err(|e| SourceError::Storage(e.to_string()))?;
        Ok(found
            .into_iter()
            .map(|e| e.when_us.div_euclid(1_000_000))
            .collect())
    }
}

/// The API's event store over the SQLite database.
pub(crate) struct Events(pub(crate) Arc<store_events::EventStore>);

fn api_error(e: EventsError) -> api_events::EventStoreError {
    api_events::EventStoreError(e.to_string())
}

fn to_api(e: store_events::Event) -> api_events::Event {
    api_events::Event {
        id: e.id,
        when_us: e.when_us,
        what: e.what,
        data: e.data,
        tags: e.tags,
    }
}

impl EventStore for Events {
    fn add(&self, e: api_events::NewEvent) -> Result<i64, api_events::EventStoreError> {
        self.0
            .add(&store_events::NewEvent {
                when_us: e.when_us,
                what: e.what,
                data: e.data,
                tags: e.tags,
            })
            .map_err(api_error)
    }

    fn find(
        &self,
        q: &api_events::EventQuery,
    ) -> Result<Vec<api_events::Event>, api_events::EventStoreError> {
        let query = store_events::EventQuery {
            from_us: q.from_us,
            until_us: q.until_us,
            tags: q.tags.clone(),
            matching: match q.matching {
                api_events::TagMatch::All => store_events::TagMatch::All,
                api_events::TagMatch::Any => store_events::TagMatch::Any,
            },
        };
        let found = self.0.find(&query).map_err(api_error)?;
        Ok(found.into_iter().map(to_api).collect())
    }

    fn get(&self, id: i64) -> Result<Option<api_events::Event>, api_events::EventStoreError> {
        Ok(self.0.get(id).map_err(api_error)?.map(to_api))
    }

    fn delete(&self, id: i64) -> Result<bool, api_events::EventStoreError> {
        self.0.delete(id).map_err(api_error)
    }
}

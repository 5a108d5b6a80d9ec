//! The query engine's [`Source`] over the local [`Store`]: the store's types in, the
//! engine's out. (The engine knows nothing of storage; a cluster front composes other
//! sources beside this one.)

use std::sync::Arc;

use charcoal_query::{Fetched, Node, Source, SourceError};
use charcoal_store::events::{EventQuery, TagMatch};
use charcoal_store::{FindError, Store};

/// The store as the render API reads it.
#[derive(Debug, Clone)]
pub struct StoreSource {
    store: Arc<Store>,
    /// Matches one find may return (`--max-find-results`).
    max_find_results: usize,
}

impl StoreSource {
    /// Reads from `store`; finds may return at most `max_find_results` matches.
    pub fn new(store: Arc<Store>, max_find_results: usize) -> StoreSource {
        StoreSource {
            store,
            max_find_results,
        }
    }
}

impl Source for StoreSource {
    fn find(&self, pattern: &str) -> Result<Vec<Node>, SourceError> {
        let found = self
            .store
            .find(pattern, self.max_find_results)
            .map_err(|e| match e {
                FindError::Pattern(p) => SourceError::Pattern(p),
                limit @ FindError::Limit { .. } => SourceError::Limit(limit.to_string()),
            })?;
        let mut out = Vec::with_capacity(found.len());
        for f in found {
            // A path that is both is listed twice, a branch and a leaf, as graphite-web does.
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
        match self.store.fetch(path, from, until, now) {
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
        self.store.interval(path, now)
    }

    fn find_tagged(&self, expressions: &[String]) -> Result<Vec<String>, SourceError> {
        self.store
            .find_tagged(expressions)
            .map_err(|e| SourceError::Pattern(e.to_string()))
    }

    fn list(&self) -> Result<Vec<String>, SourceError> {
        Ok(self.store.list())
    }

    fn events(
        &self,
        tags: Option<&[String]>,
        from: i64,
        until: i64,
    ) -> Result<Vec<i64>, SourceError> {
        let query = EventQuery {
            from_us: from.saturating_mul(1_000_000),
            until_us: until.saturating_mul(1_000_000),
            tags: tags.map(<[String]>::to_vec),
            matching: TagMatch::All,
        };
        let found = self
            .store
            .events()
            .find(&query)
            .map_err(|e| SourceError::Storage(e.to_string()))?;
        Ok(found
            .into_iter()
            .map(|e| e.when_us.div_euclid(1_000_000))
            .collect())
    }
}

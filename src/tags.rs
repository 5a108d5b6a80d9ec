//! The API's tag database over the store's tag index: names are validated and normalised
//! with [`MetricName`] (the rules every stored name follows), index errors become the
//! API's 400s and 500s. The api crate defines [`TagDb`] so it needs no store dependency.

use std::sync::Arc;

use charcoal_api::tags::{TagDb, TagDbError};
use charcoal_protocol::MetricName;
use charcoal_store::tags::{TagIndex, TagQueryError};

pub(crate) struct TagStore(pub(crate) Arc<TagIndex>);

fn names(paths: &[String]) -> Result<Vec<MetricName>, TagDbError> {
    paths
        .iter()
        .map(|p| {
            MetricName::parse(p)
                .map_err(|e| TagDbError::Invalid(format!("Cannot parse path {p}: {e}")))
        })
        .collect()
}

fn invalid(e: TagQueryError) -> TagDbError {
    TagDbError::Invalid(e.to_string())
}

impl TagDb for TagStore {
    fn tag_series(&self, paths: &[String]) -> Result<Vec<String>, TagDbError> {
        // All validated first, so a bad name in a batch adds none of it.
        let names = names(paths)?;
        for n in &names {
            self.0
                .add(n.as_name_ref())
                .map_err(|e| TagDbError::Storage(e.to_string()))?;
        }
        Ok(names.into_iter().map(MetricName::into_string).collect())
    }

    fn del_series(&self, paths: &[String]) -> Result<(), TagDbError> {
        for n in names(paths)? {
            self.0
                .remove(&n)
                .map_err(|e| TagDbError::Storage(e.to_string()))?;
        }
        Ok(())
    }

    fn find_series(&self, exprs: &[String]) -> Result<Vec<String>, TagDbError> {
        self.0.find_series(exprs).map_err(invalid)
    }

    fn tags(&self, filter: Option<&str>, limit: Option<usize>) -> Result<Vec<String>, TagDbError> {
        self.0.tags(filter, limit).map_err(invalid)
    }

    fn values(
        &self,
        tag: &str,
        filter: Option<&str>,
        limit: Option<usize>,
    ) -> Result<Option<Vec<(String, usize)>>, TagDbError> {
        self.0.values(tag, filter, limit).map_err(invalid)
    }

    fn auto_complete_tags(
        &self,
        exprs: &[String],
        prefix: Option<&str>,
        limit: Option<usize>,
    ) -> Result<Vec<String>, TagDbError> {
        self.0
            .auto_complete_tags(exprs, prefix, limit)
            .map_err(invalid)
    }

    fn auto_complete_values(
        &self,
        exprs: &[String],
        tag: &str,
        prefix: Option<&str>,
        limit: Option<usize>,
    ) -> Result<Vec<String>, TagDbError> {
        self.0
            .auto_complete_values(exprs, tag, prefix, limit)
            .map_err(invalid)
    }
}

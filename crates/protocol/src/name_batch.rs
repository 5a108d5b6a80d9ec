//! [`NameBatch`]: a batch of items keyed by validated metric names, the names stored back
//! to back in one buffer.
//!
//! The receivers validate every point's name. Holding each in a [`MetricName`] costs an
//! allocation and a free per point, which at millions of points a second is a large share
//! of the receive path (and, for a point of a new metric, the allocator's lock). A batch
//! copies the normal form into a buffer it reuses from one read to the next, and hands out
//! [`MetricNameRef`]s: the same validation, no allocation once the buffer has grown.
//!
//! Only names that passed [`MetricName::parse`]'s rules enter the buffer, and items keep
//! their offsets private, so a [`MetricNameRef`] from a batch is as trustworthy as one from
//! a [`MetricName`].
//!
//! [`MetricName`]: crate::MetricName
//! [`MetricName::parse`]: crate::MetricName::parse

use crate::metric_name::{MetricNameRef, NameError, push_normal_form};

/// Buffers grown past this by one huge read or frame are given back when the batch is
/// cleared, so an idle connection does not keep megabytes.
const KEEP_BYTES: usize = 1 << 20;

#[derive(Debug, Clone)]
struct Item<T> {
    start: usize,
    end: usize,
    value: T,
}

/// A point's time and value, ready for the cache; its name is the batch's.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    /// Whole seconds since the epoch.
    pub timestamp: u32,
    /// The value (never NaN).
    pub value: f64,
}

/// Points ready for the store: validated, tag-normalised names (stored without an
/// allocation per point) with their samples. What every producer of points (receivers,
/// log replay) hands to the store's ingest.
pub type Batch = NameBatch<Sample>;

/// Items of type `T`, each with a validated, normalised metric name, in insertion order.
#[derive(Debug, Clone)]
pub struct NameBatch<T> {
    text: String,
    items: Vec<Item<T>>,
}

impl<T> Default for NameBatch<T> {
    fn default() -> Self {
        NameBatch {
            text: String::new(),
            items: Vec::new(),
        }
    }
}

impl<T> NameBatch<T> {
    /// An empty batch.
    pub fn new() -> Self {
        NameBatch::default()
    }

    /// Validates and normalises `raw` (see [`crate::MetricName::parse`]) and appends it with
    /// `value`; a refused name leaves the batch unchanged.
    ///
    /// ```
    /// use charcoal_protocol::name_batch::NameBatch;
    /// let mut batch = NameBatch::new();
    /// batch.push("a..b", 1).unwrap();
    /// batch.push("x;b=2;a=1", 2).unwrap();
    /// assert!(batch.push("../etc/passwd", 3).is_err());
    /// let names: Vec<_> = batch.iter().map(|(n, v)| (n.as_str(), *v)).collect();
    /// assert_eq!(names, [("a.b", 1), ("x;a=1;b=2", 2)]);
    /// ```
    pub fn push(&mut self, raw: &str, value: T) -> Result<(), NameError> {
        let start = self.text.len();
        push_normal_form(raw, &mut self.text)?;
        self.items.push(Item {
            start,
            end: self.text.len(),
            value,
        });
        Ok(())
    }

    /// Removes the last item.
    pub fn pop(&mut self) -> Option<T> {
        let item = self.items.pop()?;
        self.text.truncate(item.start);
        Some(item.value)
    }

    /// Number of items.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Item `i`.
    ///
    /// # Panics
    /// If `i` is out of bounds.
    pub fn get(&self, i: usize) -> (MetricNameRef<'_>, &T) {
        let item = &self.items[i];
        (self.name(item), &item.value)
    }

    /// The items in insertion order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (MetricNameRef<'_>, &T)> + '_ {
        self.items.iter().map(|item| (self.name(item), &item.value))
    }

    /// Keeps the items for which `keep` is true, in order.
    pub fn retain(&mut self, mut keep: impl FnMut(MetricNameRef<'_>, &T) -> bool) {
        let text = &self.text;
        self.items.retain(|item| {
            keep(
                MetricNameRef::new_unchecked(&text[item.start..item.end]),
                &item.value,
            )
        });
    }

    /// Removes every item, keeping the buffers for the next batch (up to a limit).
    pub fn clear(&mut self) {
        self.text.clear();
        self.items.clear();
        if self.text.capacity() > KEEP_BYTES {
            self.text.shrink_to(KEEP_BYTES);
        }
        let keep_items = KEEP_BYTES / std::mem::size_of::<Item<T>>().max(1);
        if self.items.capacity() > keep_items {
            self.items.shrink_to(keep_items);
        }
    }

    fn name(&self, item: &Item<T>) -> MetricNameRef<'_> {
        MetricNameRef::new_unchecked(&self.text[item.start..item.end])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MetricName;
    use proptest::prelude::*;

    proptest! {
        /// A batch holds exactly what `MetricName::parse` would: the same normal forms for
        /// accepted names, the same errors for refused ones, and a refused name leaves no
        /// trace.
        #[test]
        fn same_as_metric_name(raws in proptest::collection::vec(
            prop_oneof![
                "[a-z]{1,5}(\\.[a-z0-9_]{1,5}){0,4}",
                "[a-z.~]{0,8}(;[a-z]{1,3}=[a-z~]{0,3}){0,3}",
                "\\PC{0,12}",
                "[a-z/.\\\\]{0,10}",
            ],
            0..40,
        )) {
            let mut batch = NameBatch::new();
            let mut want = Vec::new();
            for (i, raw) in raws.iter().enumerate() {
                let got = batch.push(raw, i);
                match MetricName::parse(raw) {
                    Ok(name) => {
                        prop_assert!(got.is_ok());
                        want.push((name, i));
                    }
                    Err(e) => prop_assert_eq!(got, Err(e)),
                }
            }
            prop_assert_eq!(batch.len(), want.len());
            for ((name, v), (want_name, want_v)) in batch.iter().zip(&want) {
                prop_assert_eq!(name.as_str(), want_name.as_str());
                prop_assert_eq!(name.relative_path(), want_name.relative_path());
                prop_assert_eq!(v, want_v);
            }
        }
    }

    #[test]
    fn pop_retain_clear() {
        let mut batch = NameBatch::new();
        for (i, raw) in ["a.b", "c;x=1", "d.e.f"].iter().enumerate() {
            batch.push(raw, i).unwrap();
        }
        assert_eq!(batch.pop(), Some(2));
        batch.push("g", 3).unwrap();
        assert_eq!(batch.get(2).0.as_str(), "g");
        batch.retain(|name, _| !name.is_tagged());
        let left: Vec<_> = batch.iter().map(|(n, v)| (n.as_str(), *v)).collect();
        assert_eq!(left, [("a.b", 0), ("g", 3)]);
        batch.clear();
        assert!(batch.is_empty());
        assert_eq!(batch.pop(), None);
    }

    #[test]
    fn huge_buffers_are_given_back() {
        let mut batch = NameBatch::new();
        let long = "a".repeat(200);
        for _ in 0..10_000 {
            batch.push(&long, ()).unwrap();
        }
        assert!(batch.text.capacity() >= 2_000_000);
        batch.clear();
        assert!(batch.text.capacity() <= KEEP_BYTES);
    }
}

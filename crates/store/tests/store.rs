//! The store's guarantees, through its public entry points on a temporary directory.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use charcoal_protocol::{Batch, Sample};
use charcoal_store::lock::LockError;
use charcoal_store::persister::{self, WriteStrategy};
use charcoal_store::{Store, StoreConfig, StoreError, WalSettings};
use whisper_format::Allocation;

fn config(dir: &std::path::Path, max_creates: Option<f64>) -> StoreConfig {
    StoreConfig {
        storage_dir: dir.to_path_buf(),
        conf_dir: None,
        use_whitelist: false,
        max_cache_size: None,
        persisters: persister::Config {
            whisper_dir: dir.join("whisper"),
            threads: 2,
            nice: 0,
            strategy: WriteStrategy::Sorted,
            max_updates_per_second: None,
            max_creates_per_minute: max_creates,
            allocation: Allocation::Sparse,
            lock: false,
            autoflush: false,
        },
        wal: Some(WalSettings {
            sync_interval: Duration::from_millis(50),
            max_bytes: 1 << 30,
        }),
        open_files: 16,
        busy: Arc::new(AtomicUsize::new(0)),
    }
}

fn batch(points: &[(&str, u32, f64)]) -> Batch {
    let mut b = Batch::new();
    for &(name, timestamp, value) in points {
        b.push(name, Sample { timestamp, value }).unwrap();
    }
    b
}

#[test]
fn one_store_per_storage_directory() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = Store::open(config(dir.path(), None)).unwrap();
    match Store::open(config(dir.path(), None)) {
        Err(StoreError::Lock(LockError::Held { pid, .. })) => {
            assert_eq!(pid, Some(std::process::id()));
        }
        other => panic!("a second store opened: {:?}", other.map(|_| ())),
    }
    store.stop(Duration::from_secs(5));
    drop(store);
    let (again, _) = Store::open(config(dir.path(), None)).unwrap();
    again.stop(Duration::from_secs(5));
}

/// While new tagged series arrive, every series the tag index lists is one
/// `seriesByTag()` (`find_tagged`) finds: a name reaches the metric index before the tag
/// index. With the opposite order this fails within a few hundred series.
#[test]
fn a_series_the_tag_index_lists_is_always_found_by_tags() {
    let dir = tempfile::tempdir().unwrap();
    // No file is ever created: the metric index knows the names from the ingest alone.
    let (store, _) = Store::open(config(dir.path(), Some(1e-9))).unwrap();
    let store = Arc::new(store);
    let done = Arc::new(AtomicBool::new(false));
    // Batches of many new names: with the wrong order, a batch's names would sit in the
    // tag index alone for as long as the batch takes.
    let writer = {
        let (store, done) = (store.clone(), done.clone());
        std::thread::spawn(move || {
            for round in 0..10 {
                let names: Vec<String> =
                    (0..300).map(|i| format!("race;r={round};n={i}")).collect();
                let points: Vec<(&str, u32, f64)> =
                    names.iter().map(|n| (n.as_str(), 100, 1.0)).collect();
                store.ingest(&mut batch(&points));
            }
            done.store(true, Ordering::SeqCst);
        })
    };
    let mut checks = 0;
    while !done.load(Ordering::SeqCst) {
        let listed = store.tags().find_series(&["name=race"]).unwrap();
        let found: std::collections::HashSet<String> = store
            .find_tagged(&["name=race"])
            .unwrap()
            .into_iter()
            .collect();
        if let Some(missing) = listed.iter().find(|n| !found.contains(*n)) {
            panic!("{missing} is listed by the tag index but not found by seriesByTag");
        }
        checks += 1;
    }
    writer.join().unwrap();
    assert!(checks > 0);
    assert_eq!(store.find_tagged(&["name=race"]).unwrap().len(), 3_000);
    store.stop(Duration::from_secs(30));
}

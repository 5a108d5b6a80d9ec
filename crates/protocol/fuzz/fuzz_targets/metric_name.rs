//! Metric names: anything accepted maps to a safe relative path and re-parses to itself.
#![no_main]

use std::path::Component;

use charcoal_protocol::MetricName;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(raw) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(name) = MetricName::parse(raw) else {
        return;
    };
    let path = name.relative_path();
    let text = path.to_str().expect("UTF-8 path");
    assert!(!text.contains('\0'));
    assert!(!path.is_absolute());
    for part in text.split('/') {
        assert!(
            !part.is_empty() && part != "." && part != "..",
            "{raw:?} -> {text:?}"
        );
    }
    assert!(path.components().all(|c| matches!(c, Component::Normal(_))));
    assert_eq!(
        MetricName::parse(name.as_str()).as_ref(),
        Ok(&name),
        "{raw:?}"
    );
    let _ = name.tags().count();
});

//! Which of graphite-web 1.1.8's render functions Charcoal declares: every name in
//! graphite-web's `SeriesFunctions` must be declared, except the ones listed in
//! `NOT_IMPLEMENTED` (each with its reason, mirrored in docs/compatibility.md), and every
//! declared function must exist in graphite-web (Charcoal invents none): in 1.1.8, or in
//! `FROM_1_1_10`, the names 1.1.10 added.

use std::collections::BTreeSet;
use std::process::Command;

/// graphite-web functions Charcoal does not implement yet, and why.
const NOT_IMPLEMENTED: &[(&str, &str)] = &[];

/// The functions graphite-web 1.1.10 added to 1.1.8's (its `SeriesFunctions` has 154).
const FROM_1_1_10: &[&str] = &["compressPeriodicGaps", "lower", "upper"];

fn graphite_names() -> BTreeSet<String> {
    let out = Command::new("/usr/bin/python3")
        .arg("-c")
        .arg(
            "import re\n\
             src = open('/usr/lib/python3/dist-packages/graphite/render/functions.py').read()\n\
             block = src[src.index('SeriesFunctions = {'):]\n\
             block = block[:block.index('}')]\n\
             print('\\n'.join(re.findall(r\"^\\s*['\\\"](\\w+)['\\\"]\\s*:\", block, re.M)))",
        )
        .output()
        .expect("python3 with graphite-web");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn every_graphite_function_is_declared_or_listed() {
    let theirs = graphite_names();
    assert!(theirs.len() > 140, "read {} names", theirs.len());
    let ours: BTreeSet<String> = charcoal_query::registry::all()
        .map(|f| f.name.to_owned())
        .collect();
    let listed: BTreeSet<String> = NOT_IMPLEMENTED
        .iter()
        .map(|(n, _)| (*n).to_owned())
        .collect();
    let missing: Vec<&String> = theirs
        .iter()
        .filter(|n| !ours.contains(*n) && !listed.contains(*n))
        .collect();
    assert!(missing.is_empty(), "declared nowhere: {missing:?}");
    let stale: Vec<&String> = listed.iter().filter(|n| ours.contains(*n)).collect();
    assert!(
        stale.is_empty(),
        "implemented now, remove from NOT_IMPLEMENTED: {stale:?}"
    );
    let invented: Vec<&String> = ours
        .iter()
        .filter(|n| !theirs.contains(*n) && !FROM_1_1_10.contains(&n.as_str()))
        .collect();
    assert!(
        invented.is_empty(),
        "not graphite-web functions: {invented:?}"
    );
    for name in FROM_1_1_10 {
        assert!(
            ours.contains(*name),
            "{name} (graphite-web 1.1.10) is not declared"
        );
    }
    assert_eq!(
        ours.len(),
        theirs.len() + FROM_1_1_10.len() - listed.len(),
        "graphite-web 1.1.10 has 154 functions"
    );
    println!(
        "{} of {} graphite-web functions declared",
        theirs.len() - listed.len(),
        theirs.len()
    );
    let mut groups: std::collections::BTreeMap<&str, Vec<&str>> = Default::default();
    for f in charcoal_query::registry::all() {
        groups.entry(f.group).or_default().push(f.name);
    }
    for (group, mut names) in groups {
        names.sort_unstable();
        println!("GROUP {group}: {}", names.join(", "));
    }
}

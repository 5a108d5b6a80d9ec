//! The metric index: every metric name stored under the whisper directory, as a tree of
//! nodes, in memory.
//!
//! graphite-web answers `/metrics/find` and resolves every path expression of a render by
//! listing directories (one `scandir` per wildcard node, per request), and go-carbon
//! rescans on a timer so a new metric waits for the next scan. Charcoal scans once at
//! start-up, in parallel, and then inserts each name the moment its file is created, so
//! finds never touch the disk and a new metric is findable at once.
//!
//! The tree mirrors the directory tree: a node is a branch when it has children
//! (a directory) and a leaf when a `.wsp` file has its name — both at once when a file and
//! a directory share a name, which graphite-web reports as two nodes. Hidden entries
//! (leading `.`) are skipped, as graphite-web skips them.

use std::path::{Path, PathBuf};
use std::sync::RwLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use charcoal_protocol::glob::{NodePattern, PathPattern};

/// Children by name. A hash map, not a sorted one: a name's membership is checked for
/// every new cache entry (in steady state, every point of a metric written once a
/// minute), and a hash lookup costs one short hash where a B-tree of 1,000 siblings
/// costs ten string comparisons. Finds sort their answer anyway.
type Children = hashbrown::HashMap<Box<str>, Node, foldhash::fast::RandomState>;

/// A node: 16 bytes, so that a leaf (nearly every node) costs its slot in its parent's
/// map and its name, not an empty map of its own.
#[derive(Debug, Default)]
struct Node {
    children: Option<Box<Children>>,
    leaf: bool,
}

const _: () = assert!(std::mem::size_of::<Node>() <= 16);

impl Node {
    fn child(&self, name: &str) -> Option<&Node> {
        self.children.as_ref()?.get(name)
    }

    fn children(&self) -> impl Iterator<Item = (&str, &Node)> {
        self.children
            .iter()
            .flat_map(|c| c.iter().map(|(name, node)| (&**name, node)))
    }

    fn is_branch(&self) -> bool {
        self.children.as_ref().is_some_and(|c| !c.is_empty())
    }

    fn child_or_insert(&mut self, name: &str) -> &mut Node {
        let children = self.children.get_or_insert_default();
        // Looked up by `&str` first: only a node that is really new allocates its name.
        if !children.contains_key(name) {
            children.insert(name.into(), Node::default());
        }
        children.get_mut(name).expect("just inserted")
    }
}

/// One match of a find.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Found {
    /// The dotted path.
    pub path: String,
    /// A metric is stored here.
    pub is_leaf: bool,
    /// There are metrics below (a branch).
    pub is_branch: bool,
}

/// The index.
#[derive(Debug, Default)]
pub struct MetricIndex {
    root: RwLock<Node>,
    leaves: AtomicUsize,
}

impl MetricIndex {
    /// An empty index.
    pub fn new() -> MetricIndex {
        MetricIndex::default()
    }

    /// Scans `dir` with `threads` threads and indexes every `*.wsp` file under it.
    /// Unreadable directories are skipped (and reported in the returned list).
    pub fn scan(dir: &Path, threads: usize) -> (MetricIndex, Vec<String>) {
        let index = MetricIndex::new();
        let (names, errors) = scan_names(dir, threads.max(1));
        {
            let mut root = index.root.write().unwrap_or_else(|p| p.into_inner());
            let mut count = 0;
            for name in &names {
                if insert_into(&mut root, name) {
                    count += 1;
                }
            }
            index.leaves.store(count, Ordering::Relaxed);
        }
        (index, errors)
    }

    /// Adds a metric (a dotted path). Returns whether it was new. Checked under the
    /// shared lock first (see [`MetricIndex::insert_many`]): the persisters call this for
    /// every file they create, and the receivers have nearly always indexed the name already.
    pub fn insert(&self, name: &str) -> bool {
        self.insert_many([name]) == 1
    }

    /// Adds every name not indexed yet: one shared lock to find the missing ones (usually
    /// none: most new cache entries are metrics seen before), one exclusive lock to add
    /// them. Returns how many were new.
    ///
    /// Consecutive names under the same parent (`a.b.x`, `a.b.y`: senders write a host's
    /// or a service's metrics together) share one walk to that parent, both to check and
    /// to add.
    pub fn insert_many<'a>(&self, names: impl IntoIterator<Item = &'a str>) -> usize {
        let names: Vec<(&str, &str)> = names.into_iter().map(split_last).collect();
        let mut missing: Vec<(&str, &str)> = Vec::new();
        {
            let root = self.root.read().unwrap_or_else(|p| p.into_inner());
            for group in sibling_runs(&names) {
                let parent = find_node(&root, group[0].0);
                missing.extend(group.iter().filter(|(_, leaf)| {
                    !parent.and_then(|p| p.child(leaf)).is_some_and(|n| n.leaf)
                }));
            }
        }
        if missing.is_empty() {
            return 0;
        }
        // The leaves' names are allocated before the exclusive lock is taken: inside it,
        // each allocation would also wait for the map writes before it (the allocator's
        // lock is a full barrier), and finds wait for the lock.
        let keys: Vec<Box<str>> = missing.iter().map(|&(_, leaf)| leaf.into()).collect();
        let mut keys = keys.into_iter();
        let mut root = self.root.write().unwrap_or_else(|p| p.into_inner());
        let mut added = 0;
        for group in sibling_runs(&missing) {
            let children = insert_path(&mut root, group[0].0)
                .children
                .get_or_insert_default();
            for key in keys.by_ref().take(group.len()) {
                let node = children.entry(key).or_default();
                if !std::mem::replace(&mut node.leaf, true) {
                    added += 1;
                }
            }
        }
        self.leaves.fetch_add(added, Ordering::Relaxed);
        added
    }

    /// Whether `name` is an indexed metric.
    pub fn contains(&self, name: &str) -> bool {
        contains_in(&self.root.read().unwrap_or_else(|p| p.into_inner()), name)
    }

    /// Number of metrics.
    pub fn len(&self) -> usize {
        self.leaves.load(Ordering::Relaxed)
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Everything `pattern` matches, sorted by path. At most `limit` matches are collected;
    /// `Err(limit)` if there are more.
    pub fn find(&self, pattern: &PathPattern, limit: usize) -> Result<Vec<Found>, usize> {
        let root = self.root.read().unwrap_or_else(|p| p.into_inner());
        let mut out = Vec::new();
        let mut prefix = String::new();
        walk(&root, pattern.nodes(), &mut prefix, &mut out, limit)?;
        // The walk visits siblings in path order, so only `**` (which reaches a node by
        // several routes) leaves anything to sort or merge.
        let globstar = pattern
            .nodes()
            .iter()
            .any(|n| matches!(n, NodePattern::GlobStar));
        if !globstar {
            debug_assert!(out.is_sorted_by(|a, b| a.path < b.path));
            return Ok(out);
        }
        out.sort_by(|a, b| a.path.cmp(&b.path));
        out.dedup_by(|a, b| {
            if a.path == b.path {
                b.is_leaf |= a.is_leaf;
                b.is_branch |= a.is_branch;
                true
            } else {
                false
            }
        });
        Ok(out)
    }

    /// Every metric name, sorted.
    pub fn all(&self) -> Vec<String> {
        let root = self.root.read().unwrap_or_else(|p| p.into_inner());
        let mut out = Vec::with_capacity(self.len());
        let mut prefix = String::new();
        collect(&root, &mut prefix, &mut out);
        out.sort();
        out
    }
}

fn contains_in(root: &Node, name: &str) -> bool {
    let mut node = root;
    for part in name.split('.') {
        match node.child(part) {
            Some(n) => node = n,
            None => return false,
        }
    }
    node.leaf
}

fn insert_into(root: &mut Node, name: &str) -> bool {
    let leaf = insert_path(root, name);
    !std::mem::replace(&mut leaf.leaf, true)
}

/// The node at dotted `path` (the root for ""), made if missing.
fn insert_path<'n>(root: &'n mut Node, path: &str) -> &'n mut Node {
    let mut node = root;
    if !path.is_empty() {
        for part in path.split('.') {
            node = node.child_or_insert(part);
        }
    }
    node
}

/// The node at dotted `path` (the root for ""), if there is one.
fn find_node<'n>(root: &'n Node, path: &str) -> Option<&'n Node> {
    let mut node = root;
    if !path.is_empty() {
        for part in path.split('.') {
            node = node.child(part)?;
        }
    }
    Some(node)
}

/// (everything before the last `.`, everything after it); the parent is "" for a
/// top-level name.
fn split_last(name: &str) -> (&str, &str) {
    name.rsplit_once('.').unwrap_or(("", name))
}

/// `(parent, leaf)` pairs cut into runs of consecutive pairs with the same parent.
fn sibling_runs<'s, 'a>(
    names: &'s [(&'a str, &'a str)],
) -> impl Iterator<Item = &'s [(&'a str, &'a str)]> {
    names.chunk_by(|a, b| a.0 == b.0)
}

fn push_name(prefix: &mut String, name: &str) -> usize {
    let len = prefix.len();
    if !prefix.is_empty() {
        prefix.push('.');
    }
    prefix.push_str(name);
    len
}

fn walk(
    node: &Node,
    patterns: &[NodePattern],
    prefix: &mut String,
    out: &mut Vec<Found>,
    limit: usize,
) -> Result<(), usize> {
    let Some((first, rest)) = patterns.split_first() else {
        return Ok(());
    };
    let mut visit = |name: &str, child: &Node, out: &mut Vec<Found>| -> Result<(), usize> {
        let len = push_name(prefix, name);
        let r = if rest.is_empty() {
            if out.len() >= limit {
                Err(limit)
            } else {
                out.push(Found {
                    path: prefix.clone(),
                    is_leaf: child.leaf,
                    is_branch: child.is_branch(),
                });
                Ok(())
            }
        } else {
            walk(child, rest, prefix, out, limit)
        };
        prefix.truncate(len);
        r
    };
    match first {
        NodePattern::Names(names) if names.len() == 1 => {
            // The usual plain node (`requests` in `servers.*.requests`): no list to sort.
            if let Some(child) = node.child(&names[0]) {
                visit(&names[0], child, out)?;
            }
        }
        NodePattern::Names(names) => {
            let mut matched: Vec<(&str, &Node)> = names
                .iter()
                .filter_map(|name| Some((name.as_str(), node.child(name)?)))
                .collect();
            sort_siblings(&mut matched, rest.is_empty());
            for (name, child) in matched {
                visit(name, child, out)?;
            }
        }
        NodePattern::Any => {
            // Every child: no per-child test, and the one list sorted once.
            let mut matched: Vec<(&str, &Node)> = node.children().collect();
            sort_siblings(&mut matched, rest.is_empty());
            for (name, child) in matched {
                visit(name, child, out)?;
            }
        }
        NodePattern::Wild(_) => {
            let mut matched: Vec<(&str, &Node)> = node
                .children()
                .filter(|(name, _)| first.matches(name))
                .collect();
            sort_siblings(&mut matched, rest.is_empty());
            for (name, child) in matched {
                visit(name, child, out)?;
            }
        }
        NodePattern::GlobStar => {
            // Zero nodes: the rest applies here; then one more node, still under `**`.
            if rest.is_empty() {
                // A terminal `**` is `**.*` in graphite-web: everything below.
                let star = [NodePattern::GlobStar];
                for (name, child) in node.children() {
                    let len = push_name(prefix, name);
                    if out.len() >= limit {
                        return Err(limit);
                    }
                    out.push(Found {
                        path: prefix.clone(),
                        is_leaf: child.leaf,
                        is_branch: child.is_branch(),
                    });
                    walk(child, &star, prefix, out, limit)?;
                    prefix.truncate(len);
                }
            } else {
                walk(node, rest, prefix, out, limit)?;
                for (name, child) in node.children() {
                    let len = push_name(prefix, name);
                    walk(child, patterns, prefix, out, limit)?;
                    prefix.truncate(len);
                }
            }
        }
    }
    Ok(())
}

/// Sorts siblings into the order of the paths the walk makes from them: by name for the
/// last node of a pattern, by name and a `.` above it (`a-b.x` sorts before `a.x`, though
/// `a` sorts before `a-b`). The map keeps no order (see [`Children`]); sorting the matches
/// here, once per visited node, is cheaper than sorting the whole answer by path.
///
/// Siblings usually share a long prefix (`m0000`..`m0999`, `host-017`): past it, their next
/// 8 bytes as one big-endian integer order nearly every pair with one comparison, and only
/// ties compare the names.
fn sort_siblings<T: Copy>(matched: &mut [(&str, T)], last: bool) {
    let cmp: fn(&str, &str) -> std::cmp::Ordering = if last { Ord::cmp } else { cmp_dotted };
    if matched.len() <= 16 {
        matched.sort_unstable_by(|a, b| cmp(a.0, b.0));
        return;
    }
    let first = matched[0].0.as_bytes();
    let common = matched[1..].iter().fold(first.len(), |n, (name, _)| {
        first[..n]
            .iter()
            .zip(name.as_bytes())
            .take_while(|(a, b)| a == b)
            .count()
    });
    // The key is the first 8 bytes after the shared prefix of the name (of the name and
    // its `.` above the last node), zero-padded. Where two keys differ, they differ as the
    // names do: a key padded with zeros is below every key it is a prefix of, and a name
    // is its own prefix there, and no name with its `.` is a prefix of another's.
    let key = |name: &str| {
        let mut k = [0u8; 8];
        let tail = name.as_bytes().get(common..).unwrap_or_default();
        let n = tail.len().min(8);
        k[..n].copy_from_slice(&tail[..n]);
        if !last && n < 8 {
            k[n] = b'.';
        }
        u64::from_be_bytes(k)
    };
    let mut keyed: Vec<(u64, u32)> = matched
        .iter()
        .enumerate()
        .map(|(i, (name, _))| (key(name), i as u32))
        .collect();
    keyed.sort_unstable_by(|a, b| {
        a.0.cmp(&b.0)
            .then_with(|| cmp(matched[a.1 as usize].0, matched[b.1 as usize].0))
    });
    let sorted: Vec<(&str, T)> = keyed.iter().map(|&(_, i)| matched[i as usize]).collect();
    matched.copy_from_slice(&sorted);
}

/// `a` with a `.` after it against `b` with a `.` after it, without building either.
fn cmp_dotted(a: &str, b: &str) -> std::cmp::Ordering {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let n = a.len().min(b.len());
    a[..n].cmp(&b[..n]).then_with(|| {
        let next = |s: &[u8]| s.get(n).copied().unwrap_or(b'.');
        next(a).cmp(&next(b)).then(a.len().cmp(&b.len()))
    })
}

fn collect(node: &Node, prefix: &mut String, out: &mut Vec<String>) {
    for (name, child) in node.children() {
        let len = push_name(prefix, name);
        if child.leaf {
            out.push(prefix.clone());
        }
        collect(child, prefix, out);
        prefix.truncate(len);
    }
}

/// Lists every metric name under `dir` with a pool of threads sharing a stack of
/// directories to read.
fn scan_names(dir: &Path, threads: usize) -> (Vec<String>, Vec<String>) {
    let work = std::sync::Mutex::new(vec![(dir.to_path_buf(), String::new())]);
    let busy = AtomicUsize::new(0);
    let results = std::sync::Mutex::new((Vec::new(), Vec::new()));
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                let mut names = Vec::new();
                let mut errors = Vec::new();
                loop {
                    let next = {
                        let mut w = work.lock().unwrap_or_else(|p| p.into_inner());
                        let item = w.pop();
                        if item.is_some() {
                            busy.fetch_add(1, Ordering::SeqCst);
                        }
                        item
                    };
                    let Some((path, prefix)) = next else {
                        if busy.load(Ordering::SeqCst) == 0 {
                            break;
                        }
                        std::thread::yield_now();
                        continue;
                    };
                    let subdirs = read_one(&path, &prefix, &mut names, &mut errors);
                    work.lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .extend(subdirs);
                    busy.fetch_sub(1, Ordering::SeqCst);
                }
                let mut r = results.lock().unwrap_or_else(|p| p.into_inner());
                r.0.append(&mut names);
                r.1.append(&mut errors);
            });
        }
    });
    results.into_inner().unwrap_or_else(|p| p.into_inner())
}

/// Reads one directory: metric names go to `names`, subdirectories are returned.
fn read_one(
    path: &Path,
    prefix: &str,
    names: &mut Vec<String>,
    errors: &mut Vec<String>,
) -> Vec<(PathBuf, String)> {
    let mut subdirs = Vec::new();
    let entries = match std::fs::read_dir(path) {
        Ok(e) => e,
        Err(e) => {
            errors.push(format!("{}: {e}", path.display()));
            return subdirs;
        }
    };
    let join = |name: &str| {
        if prefix.is_empty() {
            name.to_owned()
        } else {
            format!("{prefix}.{name}")
        }
    };
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let Some(name) = file_name.to_str() else {
            continue;
        };
        if name.starts_with('.') {
            continue;
        }
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        let kind = if kind.is_symlink() {
            match std::fs::metadata(entry.path()) {
                Ok(m) => m.file_type(),
                Err(_) => continue,
            }
        } else {
            kind
        };
        if kind.is_dir() {
            subdirs.push((entry.path(), join(name)));
        } else if let Some(stem) = name.strip_suffix(".wsp")
            && !stem.is_empty()
            && !stem.contains('.')
        {
            names.push(join(stem));
        }
    }
    subdirs
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Batches of names (siblings next to each other or not, repeats, top-level names,
    /// a name that is also a branch) give the index, and the counts, that inserting one
    /// name at a time gives.
    #[test]
    fn insert_many_is_one_insert_at_a_time() {
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = |n: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % n
        };
        for _ in 0..200 {
            let batched = MetricIndex::new();
            let single = MetricIndex::new();
            for _ in 0..5 {
                let names: Vec<String> = (0..next(30))
                    .map(|_| {
                        (0..=next(3))
                            .map(|_| ["a", "b", "c"][next(3) as usize])
                            .collect::<Vec<_>>()
                            .join(".")
                    })
                    .collect();
                let added = batched.insert_many(names.iter().map(String::as_str));
                // The reference walks from the root for every name.
                let one_by_one = {
                    let mut root = single.root.write().unwrap();
                    names.iter().filter(|n| insert_into(&mut root, n)).count()
                };
                single.leaves.fetch_add(one_by_one, Ordering::Relaxed);
                assert_eq!(added, one_by_one, "{names:?}");
                assert_eq!(batched.all(), single.all());
                assert_eq!(batched.len(), single.len());
                let every = PathPattern::new("**").unwrap();
                assert_eq!(batched.find(&every, 1_000), single.find(&every, 1_000));
            }
        }
    }

    /// A small xorshift generator: the tests are reproducible without a crate.
    fn rng(seed: u64) -> impl FnMut(u64) -> u64 {
        let mut x = seed;
        move |n| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % n
        }
    }

    /// Names that share long prefixes (longer than the 8-byte sort keys), differ in `-`
    /// against nothing (`a` / `a-b`: the order that changes with a `.` after the name),
    /// and run past 8 bytes after the prefix.
    fn random_name(next: &mut impl FnMut(u64) -> u64) -> String {
        const STEMS: [&str; 6] = ["a", "a-b", "host-0000000", "host-00000001", "m0", ""];
        const TAILS: [&str; 8] = ["", "0", "1", "-", "-x", "00000000009", "b", "+%41"];
        let name = format!(
            "{}{}{}",
            STEMS[next(6) as usize],
            TAILS[next(8) as usize],
            TAILS[next(8) as usize]
        );
        if name.is_empty() { "z".into() } else { name }
    }

    /// The keyed sibling sort gives the order of the paths it stands for.
    #[test]
    fn sibling_sort_is_path_order() {
        let mut next = rng(0x9e37_79b9_7f4a_7c15);
        for _ in 0..500 {
            let mut names: Vec<String> = (0..next(60)).map(|_| random_name(&mut next)).collect();
            names.sort();
            names.dedup();
            // Hash-map order, more or less.
            for i in (1..names.len()).rev() {
                names.swap(i, next(i as u64 + 1) as usize);
            }
            for last in [true, false] {
                let mut items: Vec<(&str, usize)> = names
                    .iter()
                    .enumerate()
                    .map(|(i, n)| (n.as_str(), i))
                    .collect();
                sort_siblings(&mut items, last);
                let got: Vec<&str> = items.iter().map(|(n, _)| *n).collect();
                let mut want: Vec<&str> = names.iter().map(String::as_str).collect();
                want.sort_by_key(|n| {
                    if last {
                        format!("p.{n}")
                    } else {
                        format!("p.{n}.x")
                    }
                });
                assert_eq!(got, want, "last {last}");
            }
        }
    }

    /// Finds (sorted walks, the `*` fast path, `**`, limits) answer what matching every
    /// indexed path against the pattern answers.
    #[test]
    fn find_is_every_matching_path() {
        let mut next = rng(0x2545_f491_4f6c_dd1d);
        const NODES: [&str; 12] = [
            "*", "**", "a*", "*0", "{a,m0}*", "a-b", "{a,a-b}", "host-0*", "?", "[am]*", "z",
            "{*,q}",
        ];
        for _ in 0..60 {
            let idx = MetricIndex::new();
            let mut names = Vec::new();
            for _ in 0..next(300) + 1 {
                let depth = next(3) + 1;
                let name: Vec<String> = (0..depth).map(|_| random_name(&mut next)).collect();
                names.push(name.join("."));
            }
            idx.insert_many(names.iter().map(String::as_str));
            let leaves: std::collections::BTreeSet<&str> =
                names.iter().map(String::as_str).collect();
            let mut every = std::collections::BTreeMap::new();
            for name in &names {
                for (i, _) in name.match_indices('.') {
                    every.entry(&name[..i]).or_insert((false, false)).1 = true;
                }
                every.entry(name.as_str()).or_insert((false, false)).0 = true;
            }
            assert!(every.keys().filter(|p| every[*p].0).eq(leaves.iter()));
            for _ in 0..40 {
                let pattern: Vec<&str> =
                    (0..next(3) + 1).map(|_| NODES[next(12) as usize]).collect();
                let pattern = pattern.join(".");
                let compiled = PathPattern::new(&pattern).unwrap();
                let want: Vec<(&str, bool, bool)> = every
                    .iter()
                    .filter(|(p, _)| compiled.matches_path(p))
                    .map(|(p, &(leaf, branch))| (*p, leaf, branch))
                    .collect();
                let found = idx.find(&compiled, usize::MAX).unwrap();
                assert_eq!(paths(&found), want, "{pattern}");
                if !want.is_empty() {
                    assert_eq!(idx.find(&compiled, want.len() - 1), Err(want.len() - 1));
                }
            }
        }
    }

    fn paths(found: &[Found]) -> Vec<(&str, bool, bool)> {
        found
            .iter()
            .map(|f| (f.path.as_str(), f.is_leaf, f.is_branch))
            .collect()
    }

    #[test]
    fn find_matches_graphite_globs() {
        let idx = MetricIndex::new();
        for n in ["a.b.c", "a.b.d", "a.x.c", "a.b", "z.q"] {
            assert!(idx.insert(n));
        }
        assert!(!idx.insert("a.b.c"));
        assert_eq!(idx.len(), 5);
        assert_eq!(idx.insert_many(["a.b.c", "n.e.w", "n.e.w"]), 1);
        assert!(idx.contains("n.e.w") && !idx.contains("n.e"));
        assert_eq!(idx.len(), 6);
        assert!(idx.insert_many(["n.e.w"]) == 0);
        let idx = {
            let fresh = MetricIndex::new();
            for n in ["a.b.c", "a.b.d", "a.x.c", "a.b", "z.q"] {
                fresh.insert(n);
            }
            fresh
        };
        let f = |p: &str| idx.find(&PathPattern::new(p).unwrap(), 100).unwrap();
        assert_eq!(
            paths(&f("a.*")),
            [("a.b", true, true), ("a.x", false, true)]
        );
        assert_eq!(paths(&f("a.{b,x}.c")).len(), 2);
        assert_eq!(paths(&f("a.b.[c-c]")), [("a.b.c", true, false)]);
        assert_eq!(paths(&f("**.c")).len(), 2);
        assert_eq!(f("a.**").len(), 5);
        assert!(idx.find(&PathPattern::new("*.*.*").unwrap(), 2).is_err());
        assert_eq!(idx.all(), ["a.b", "a.b.c", "a.b.d", "a.x.c", "z.q"]);
    }

    #[test]
    fn scan_finds_whisper_files_only() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("a/b")).unwrap();
        std::fs::create_dir_all(root.join(".hidden")).unwrap();
        for f in [
            "a/b/c.wsp",
            "a/d.wsp",
            "a/b/notes.txt",
            ".hidden/x.wsp",
            "top.wsp",
        ] {
            std::fs::write(root.join(f), b"").unwrap();
        }
        let (idx, errors) = MetricIndex::scan(root, 2);
        assert!(errors.is_empty());
        assert_eq!(idx.all(), ["a.b.c", "a.d", "top"]);
    }
}

/// Memory per indexed name, for docs/performance.md:
/// `cargo test --release -p charcoal-store --lib index_memory -- --ignored --nocapture`.
#[cfg(test)]
#[test]
#[ignore = "a measurement, not a check"]
fn index_memory() {
    let rss = || {
        std::fs::read_to_string("/proc/self/statm")
            .ok()
            .and_then(|s| s.split_whitespace().nth(1)?.parse::<usize>().ok())
            .unwrap_or(0)
            * 4096
    };
    let before = rss();
    let idx = MetricIndex::new();
    for a in 0..100 {
        for b in 0..100 {
            for c in 0..100 {
                idx.insert(&format!("service{a:02}.host-{b:02}.metric_{c:02}"));
            }
        }
    }
    let after = rss();
    println!(
        "1,000,000 names of 27 bytes: {} bytes of RSS per name",
        (after - before) / idx.len()
    );
}

//! Settings: embedded defaults, carbon's own carbon.conf, and command-line
//! overrides, in that order.
//!
//! An operator swapping carbon-cache for Charcoal keeps their carbon.conf:
//! the `[cache]` section is read with carbon's types (booleans as
//! configparser reads them, numbers with `inf`), paths as carbon derives them
//! (`LOCAL_DATA_DIR` defaults to `STORAGE_DIR/whisper`, `CONF_DIR` to the
//! folder of carbon.conf) and carbon's code defaults for keys the file leaves
//! out. Keys Charcoal does not use are reported once at start-up. Without a
//! carbon.conf, Charcoal runs on embedded defaults that suit a first start:
//! data in `./storage`, every listener on, no rate limits.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use charcoal_store::ini;
use charcoal_store::persister::WriteStrategy;
use whisper_format::Allocation;

/// Everything the server needs to start.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Settings {
    /// `STORAGE_DIR`.
    pub(crate) storage_dir: PathBuf,
    /// `LOCAL_DATA_DIR`: the whisper tree.
    pub(crate) whisper_dir: PathBuf,
    /// `CONF_DIR`: where storage-schemas.conf and storage-aggregation.conf
    /// are read (None: the embedded rules).
    pub(crate) conf_dir: Option<PathBuf>,
    /// Plaintext TCP listener (None: off).
    pub(crate) line: Option<SocketAddr>,
    /// Plaintext UDP listener (None: off).
    pub(crate) udp: Option<SocketAddr>,
    /// Pickle listener (None: off).
    pub(crate) pickle: Option<SocketAddr>,
    /// Carbonlink cache-query listener (None: off).
    pub(crate) carbonlink: Option<SocketAddr>,
    /// HTTP API (`HTTP_LISTEN`, ours).
    pub(crate) http: Option<SocketAddr>,
    /// `PICKLE_RECEIVER_MAX_LENGTH`: largest pickle frame.
    pub(crate) pickle_max_length: usize,
    /// `MAX_CACHE_SIZE` in points (None: unlimited).
    pub(crate) max_cache_size: Option<usize>,
    /// `MAX_UPDATES_PER_SECOND` (None: unlimited).
    pub(crate) max_updates_per_second: Option<f64>,
    /// `MAX_CREATES_PER_MINUTE` (None: unlimited).
    pub(crate) max_creates_per_minute: Option<f64>,
    /// `CACHE_WRITE_STRATEGY`.
    pub(crate) write_strategy: WriteStrategy,
    /// `WHISPER_SPARSE_CREATE` / `WHISPER_FALLOCATE_CREATE` (fallocate wins).
    pub(crate) allocation: Allocation,
    /// `WHISPER_LOCK_WRITES`.
    pub(crate) lock_writes: bool,
    /// `WHISPER_AUTOFLUSH`.
    pub(crate) autoflush: bool,
    /// `USE_FLOW_CONTROL`.
    pub(crate) flow_control: bool,
    /// `USE_WHITELIST`.
    pub(crate) use_whitelist: bool,
    /// `CARBON_METRIC_PREFIX`.
    pub(crate) metric_prefix: String,
    /// `CARBON_METRIC_INTERVAL` in seconds (0: no self-metrics).
    pub(crate) metric_interval: u64,
    /// `ENABLE_TAGS`.
    pub(crate) enable_tags: bool,
    /// `MIN_TIMESTAMP_RESOLUTION` in seconds (0: keep as received).
    pub(crate) min_timestamp_resolution: u64,
    /// Keys of `[cache]` that Charcoal does not use, for one warning.
    pub(crate) unused_keys: Vec<String>,
    /// The `[cache:INSTANCE]` applied (`--instance`), for self-metric and pid file names.
    pub(crate) instance: Option<String>,
    /// `USER`: started as root, run as this user once the ports are bound.
    pub(crate) user: Option<String>,
    /// `PID_DIR`: where carbon's pid file goes (None: no pid file).
    pub(crate) pid_dir: Option<PathBuf>,
}

/// The keys of `[cache]` that change what Charcoal does.
const USED_KEYS: &[&str] = &[
    "STORAGE_DIR",
    "LOCAL_DATA_DIR",
    "CONF_DIR",
    "LINE_RECEIVER_INTERFACE",
    "LINE_RECEIVER_PORT",
    "ENABLE_UDP_LISTENER",
    "UDP_RECEIVER_INTERFACE",
    "UDP_RECEIVER_PORT",
    "PICKLE_RECEIVER_INTERFACE",
    "PICKLE_RECEIVER_PORT",
    "PICKLE_RECEIVER_MAX_LENGTH",
    "CACHE_QUERY_INTERFACE",
    "CACHE_QUERY_PORT",
    "MAX_CACHE_SIZE",
    "MAX_UPDATES_PER_SECOND",
    "MAX_CREATES_PER_MINUTE",
    "CACHE_WRITE_STRATEGY",
    "WHISPER_SPARSE_CREATE",
    "WHISPER_FALLOCATE_CREATE",
    "WHISPER_LOCK_WRITES",
    "WHISPER_AUTOFLUSH",
    "USE_FLOW_CONTROL",
    "USE_WHITELIST",
    "CARBON_METRIC_PREFIX",
    "CARBON_METRIC_INTERVAL",
    "ENABLE_TAGS",
    "MIN_TIMESTAMP_RESOLUTION",
    "HTTP_LISTEN",
    "USER",
    "PID_DIR",
];

impl Settings {
    /// The embedded defaults: `./storage`, plaintext TCP and UDP on 2003,
    /// pickle on 2004, carbonlink on 7002, HTTP on 8080, carbon's shipped
    /// schemas, no rate limits.
    pub(crate) fn embedded() -> Settings {
        let any = |port: u16| Some(SocketAddr::from(([0, 0, 0, 0], port)));
        Settings {
            storage_dir: PathBuf::from("storage"),
            whisper_dir: PathBuf::from("storage/whisper"),
            conf_dir: None,
            line: any(2003),
            udp: any(2003),
            pickle: any(2004),
            carbonlink: any(7002),
            http: any(8080),
            pickle_max_length: 1 << 20,
            max_cache_size: None,
            max_updates_per_second: None,
            max_creates_per_minute: None,
            write_strategy: WriteStrategy::Sorted,
            allocation: Allocation::Zeroed,
            lock_writes: false,
            autoflush: false,
            flow_control: true,
            use_whitelist: false,
            metric_prefix: "carbon".into(),
            metric_interval: 60,
            enable_tags: true,
            min_timestamp_resolution: 1,
            unused_keys: Vec::new(),
            instance: None,
            user: None,
            pid_dir: None,
        }
    }

    /// Reads carbon.conf's `[cache]` section (and `[cache:<instance>]` on top
    /// when an instance is named), with carbon's code defaults for absent keys.
    pub(crate) fn from_carbon_conf(path: &Path, instance: Option<&str>) -> Result<Settings> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let sections = ini::parse(&text).with_context(|| format!("in {}", path.display()))?;
        let mut keys: Vec<(String, String)> = Vec::new();
        let mut wanted = vec!["cache".to_string()];
        if let Some(i) = instance {
            wanted.push(format!("cache:{i}"));
        }
        for name in &wanted {
            if let Some(s) = sections.iter().find(|s| &s.name == name) {
                for (k, v) in &s.options {
                    let k = k.to_ascii_uppercase();
                    keys.retain(|(old, _)| *old != k);
                    keys.push((k, v.clone()));
                }
            }
        }
        let conf_dir = path
            .parent()
            .map(|p| {
                if p.as_os_str().is_empty() {
                    Path::new(".")
                } else {
                    p
                }
            })
            .unwrap_or(Path::new("."))
            .to_path_buf();
        let mut settings = Settings::from_keys(&keys, conf_dir)?;
        settings.instance = instance.map(str::to_owned);
        Ok(settings)
    }

    fn from_keys(keys: &[(String, String)], conf_dir: PathBuf) -> Result<Settings> {
        let get = |k: &str| keys.iter().find(|(key, _)| key == k).map(|(_, v)| v.trim());
        let boolean = |k: &str, default: bool| -> Result<bool> {
            match get(k) {
                None => Ok(default),
                Some(v) => parse_bool(v).with_context(|| format!("{k} = {v:?}")),
            }
        };
        let number = |k: &str, default: Option<f64>| -> Result<Option<f64>> {
            match get(k) {
                None => Ok(default),
                Some(v) => {
                    let n: f64 = v
                        .parse()
                        .with_context(|| format!("{k} = {v:?} is not a number"))?;
                    if n.is_nan() || n < 0.0 {
                        bail!("{k} = {v:?} must be a positive number or inf");
                    }
                    Ok(n.is_finite().then_some(n))
                }
            }
        };
        let listener = |iface: &str, port: &str, default_port: u16| -> Result<Option<SocketAddr>> {
            let interface = get(iface).unwrap_or("0.0.0.0");
            let port: u16 = match get(port) {
                None => default_port,
                Some(p) => p.parse().with_context(|| format!("{port} = {p:?}"))?,
            };
            // Port 0 switches a receiver off, as in carbon.
            if port == 0 {
                return Ok(None);
            }
            parse_listen(&format!("{}:{port}", bracket(interface)))
                .with_context(|| format!("{iface} = {interface:?}"))
                .map(Some)
        };

        let storage_dir = clean(get("STORAGE_DIR").unwrap_or("storage"));
        let whisper_dir = get("LOCAL_DATA_DIR")
            .map(clean)
            .unwrap_or_else(|| storage_dir.join("whisper"));
        let conf_dir = get("CONF_DIR").map(clean).unwrap_or(conf_dir);
        let udp = if boolean("ENABLE_UDP_LISTENER", false)? {
            listener("UDP_RECEIVER_INTERFACE", "UDP_RECEIVER_PORT", 2003)?
        } else {
            None
        };
        let allocation = if boolean("WHISPER_FALLOCATE_CREATE", false)? {
            Allocation::Fallocate
        } else if boolean("WHISPER_SPARSE_CREATE", false)? {
            Allocation::Sparse
        } else {
            Allocation::Zeroed
        };
        let write_strategy = match get("CACHE_WRITE_STRATEGY") {
            None => WriteStrategy::Sorted,
            Some(v) => v
                .parse()
                .map_err(anyhow::Error::msg)
                .context("CACHE_WRITE_STRATEGY")?,
        };
        let http = match get("HTTP_LISTEN") {
            None => Some(SocketAddr::from(([0, 0, 0, 0], 8080))),
            Some(v) => Some(parse_listen(v).context("HTTP_LISTEN")?),
        };
        let unused_keys = keys
            .iter()
            .map(|(k, _)| k.clone())
            .filter(|k| !USED_KEYS.contains(&k.as_str()))
            .collect();
        Ok(Settings {
            storage_dir,
            whisper_dir,
            conf_dir: Some(conf_dir),
            line: listener("LINE_RECEIVER_INTERFACE", "LINE_RECEIVER_PORT", 2003)?,
            udp,
            pickle: listener("PICKLE_RECEIVER_INTERFACE", "PICKLE_RECEIVER_PORT", 2004)?,
            carbonlink: listener("CACHE_QUERY_INTERFACE", "CACHE_QUERY_PORT", 7002)?,
            http,
            pickle_max_length: number("PICKLE_RECEIVER_MAX_LENGTH", Some(f64::from(1 << 20)))?
                .map_or(usize::MAX, |n| n as usize),
            max_cache_size: number("MAX_CACHE_SIZE", None)?.map(|n| n as usize),
            max_updates_per_second: match number("MAX_UPDATES_PER_SECOND", Some(500.0))? {
                Some(0.0) => {
                    bail!("MAX_UPDATES_PER_SECOND = 0 would never write; use inf for no limit")
                }
                other => other,
            },
            max_creates_per_minute: number("MAX_CREATES_PER_MINUTE", None)?,
            write_strategy,
            allocation,
            lock_writes: boolean("WHISPER_LOCK_WRITES", false)?,
            autoflush: boolean("WHISPER_AUTOFLUSH", false)?,
            flow_control: boolean("USE_FLOW_CONTROL", true)?,
            use_whitelist: boolean("USE_WHITELIST", false)?,
            metric_prefix: get("CARBON_METRIC_PREFIX").unwrap_or("carbon").to_string(),
            metric_interval: number("CARBON_METRIC_INTERVAL", Some(60.0))?.map_or(0, |n| n as u64),
            enable_tags: boolean("ENABLE_TAGS", true)?,
            min_timestamp_resolution: number("MIN_TIMESTAMP_RESOLUTION", Some(0.0))?
                .map_or(0, |n| n as u64),
            unused_keys,
            instance: None,
            // carbon's empty default means "stay who you are".
            user: get("USER").filter(|u| !u.is_empty()).map(str::to_owned),
            pid_dir: get("PID_DIR").filter(|d| !d.is_empty()).map(clean),
        })
    }
}

/// configparser's booleans.
fn parse_bool(v: &str) -> Result<bool> {
    match v.to_ascii_lowercase().as_str() {
        "1" | "yes" | "true" | "on" => Ok(true),
        "0" | "no" | "false" | "off" => Ok(false),
        _ => bail!("not a boolean (use true/false, yes/no, on/off or 1/0)"),
    }
}

/// `~` expanded and `a/./b/../c` normalised, as carbon's `cleanpath`.
fn clean(path: &str) -> PathBuf {
    let expanded = match (path.strip_prefix('~'), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) if rest.is_empty() || rest.starts_with('/') => {
            PathBuf::from(home).join(rest.trim_start_matches('/'))
        }
        _ => PathBuf::from(path),
    };
    let mut out = PathBuf::new();
    for c in expanded.components() {
        match c {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir if out.file_name().is_some() => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    if out.as_os_str().is_empty() {
        out.push(".");
    }
    out
}

fn bracket(interface: &str) -> String {
    if interface.contains(':') && !interface.starts_with('[') {
        format!("[{interface}]")
    } else {
        interface.to_string()
    }
}

/// `ADDR:PORT`, `:PORT` (all interfaces) or `[v6]:PORT`.
pub(crate) fn parse_listen(v: &str) -> Result<SocketAddr> {
    let v = v.trim();
    let full = if v.starts_with(':') {
        format!("0.0.0.0{v}")
    } else {
        v.to_string()
    };
    if let Ok(addr) = full.parse() {
        return Ok(addr);
    }
    if let Some((host, port)) = full.rsplit_once(':')
        && host == "localhost"
    {
        return Ok(SocketAddr::from(([127, 0, 0, 1], port.parse()?)));
    }
    bail!("{v:?} is not ADDR:PORT")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn debian_carbon_conf() {
        // The shape of Debian's /etc/carbon/carbon.conf.
        let text = "[cache]\nSTORAGE_DIR    = /var/lib/graphite/\nLOCAL_DATA_DIR = /var/lib/graphite/whisper/\n\
                    CONF_DIR       = /etc/carbon/\nLOG_DIR        = /var/log/carbon/\nPID_DIR        = /var/run/\n\
                    ENABLE_LOGROTATION = False\nUSER = _graphite\nMAX_CACHE_SIZE = inf\n\
                    MAX_UPDATES_PER_SECOND = 500\nMAX_CREATES_PER_MINUTE = 50\nLINE_RECEIVER_INTERFACE = 0.0.0.0\n\
                    LINE_RECEIVER_PORT = 2003\nENABLE_UDP_LISTENER = False\nPICKLE_RECEIVER_PORT = 2004\n\
                    USE_INSECURE_UNPICKLER = False\nCACHE_QUERY_PORT = 7002\nUSE_FLOW_CONTROL = True\n\
                    LOG_UPDATES = False\nWHISPER_AUTOFLUSH = False\nWHISPER_FALLOCATE_CREATE = True\n\
                    [relay]\nLINE_RECEIVER_PORT = 2013\n";
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("carbon.conf");
        std::fs::write(&path, text).unwrap();
        let s = Settings::from_carbon_conf(&path, None).unwrap();
        assert_eq!(s.storage_dir, PathBuf::from("/var/lib/graphite"));
        assert_eq!(s.whisper_dir, PathBuf::from("/var/lib/graphite/whisper"));
        assert_eq!(s.conf_dir, Some(PathBuf::from("/etc/carbon")));
        assert_eq!(s.line, Some("0.0.0.0:2003".parse().unwrap()));
        assert_eq!(s.udp, None);
        assert_eq!(s.max_cache_size, None);
        assert_eq!(s.max_updates_per_second, Some(500.0));
        assert_eq!(s.max_creates_per_minute, Some(50.0));
        assert_eq!(s.allocation, Allocation::Fallocate);
        assert_eq!(s.user.as_deref(), Some("_graphite"));
        assert_eq!(s.pid_dir, Some(PathBuf::from("/var/run")));
        assert!(!s.unused_keys.contains(&"USER".to_string()));
        assert!(s.unused_keys.contains(&"LOG_UPDATES".to_string()));
        assert!(!s.unused_keys.contains(&"CONF_DIR".to_string()));
    }

    #[test]
    fn carbon_defaults_for_absent_keys() {
        let s = Settings::from_keys(&[], PathBuf::from("/etc/carbon")).unwrap();
        assert_eq!(s.whisper_dir, PathBuf::from("storage/whisper"));
        assert_eq!(s.conf_dir, Some(PathBuf::from("/etc/carbon")));
        assert_eq!(
            s.udp, None,
            "carbon's ENABLE_UDP_LISTENER defaults to False"
        );
        assert_eq!(s.max_updates_per_second, Some(500.0));
        assert_eq!(s.min_timestamp_resolution, 0);
        assert_eq!(s.pickle_max_length, 1 << 20);
        assert_eq!(s.write_strategy, WriteStrategy::Sorted);
    }

    #[test]
    fn values_as_carbon_types_them() {
        let s = Settings::from_keys(
            &keys(&[
                ("STORAGE_DIR", "/data/./graphite/x/.."),
                ("ENABLE_UDP_LISTENER", "yes"),
                ("UDP_RECEIVER_INTERFACE", "::1"),
                ("UDP_RECEIVER_PORT", "2103"),
                ("PICKLE_RECEIVER_PORT", "0"),
                ("MAX_CACHE_SIZE", "2000000"),
                ("MAX_UPDATES_PER_SECOND", "inf"),
                ("CACHE_WRITE_STRATEGY", "max"),
                ("WHISPER_SPARSE_CREATE", "on"),
                ("HTTP_LISTEN", "127.0.0.1:9090"),
                ("MIN_TIMESTAMP_RESOLUTION", "10"),
            ]),
            PathBuf::from("."),
        )
        .unwrap();
        assert_eq!(s.storage_dir, PathBuf::from("/data/graphite"));
        assert_eq!(s.whisper_dir, PathBuf::from("/data/graphite/whisper"));
        assert_eq!(s.udp, Some("[::1]:2103".parse().unwrap()));
        assert_eq!(s.pickle, None, "port 0 switches a receiver off");
        assert_eq!(s.max_cache_size, Some(2_000_000));
        assert_eq!(s.max_updates_per_second, None);
        assert_eq!(s.write_strategy, WriteStrategy::Max);
        assert_eq!(s.allocation, Allocation::Sparse);
        assert_eq!(s.http, Some("127.0.0.1:9090".parse().unwrap()));
        assert_eq!(s.min_timestamp_resolution, 10);
    }

    #[test]
    fn bad_values_are_errors_that_name_the_key() {
        let f = |k: &str, v: &str| {
            let err = Settings::from_keys(&keys(&[(k, v)]), PathBuf::from(".")).unwrap_err();
            assert!(format!("{err:#}").contains(k), "{err:#}");
        };
        f("ENABLE_UDP_LISTENER", "maybe");
        f("MAX_CACHE_SIZE", "lots");
        f("LINE_RECEIVER_PORT", "70000");
        f("CACHE_WRITE_STRATEGY", "timesorted");
        f("HTTP_LISTEN", "nowhere");
        f("MAX_UPDATES_PER_SECOND", "0");
    }

    #[test]
    fn listen_addresses() {
        assert_eq!(
            parse_listen(":8080").unwrap(),
            "0.0.0.0:8080".parse().unwrap()
        );
        assert_eq!(
            parse_listen("localhost:1").unwrap(),
            "127.0.0.1:1".parse().unwrap()
        );
        assert_eq!(
            parse_listen("[::]:2003").unwrap(),
            "[::]:2003".parse().unwrap()
        );
        assert!(parse_listen("2003").is_err());
    }
}

//! The container image stays in step with the binary (the machine that runs the tests
//! has no Docker daemon, so the Dockerfile is checked, not built): every flag the
//! Dockerfile and its entrypoint pass exists, the exposed ports are the embedded defaults,
//! the entrypoint picks the mounted carbon.conf when there is one, and the HEALTHCHECK's
//! `charcoal health` tells a healthy server from none.

use std::path::Path;
use std::process::Command;

use crate::util::Server;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn read(rel: &str) -> String {
    std::fs::read_to_string(Path::new(ROOT).join(rel)).unwrap()
}

fn help(sub: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_charcoal"))
        .args([sub, "--help"])
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

/// `--flag` words in `text`.
fn flags(text: &str) -> Vec<String> {
    text.split(|c: char| c.is_whitespace() || c == '"' || c == ',' || c == '[' || c == ']')
        .filter(|w| {
            w.starts_with("--")
                && w.len() > 2
                && w[2..].chars().all(|c| c.is_ascii_lowercase() || c == '-')
        })
        .map(str::to_owned)
        .collect()
}

#[test]
fn dockerfile_and_entrypoint_use_only_real_flags_and_default_ports() {
    let dockerfile = read("Dockerfile");
    let entrypoint = read("docker/entrypoint.sh");
    let serve = help("serve");
    let health = help("health");
    for flag in flags(&entrypoint) {
        assert!(
            serve.contains(&flag),
            "entrypoint passes {flag}, which `serve` lacks"
        );
    }
    let healthcheck = dockerfile
        .lines()
        .find(|l| l.contains("CMD [\"charcoal\", \"health\""))
        .unwrap();
    for flag in flags(healthcheck) {
        assert!(
            health.contains(&flag),
            "HEALTHCHECK passes {flag}, which `health` lacks"
        );
    }
    let expose = dockerfile
        .lines()
        .find(|l| l.starts_with("EXPOSE"))
        .unwrap();
    let mut ports: Vec<&str> = expose.split_whitespace().skip(1).collect();
    ports.sort_unstable();
    // The embedded defaults (src/config.rs `Settings::embedded`).
    assert_eq!(
        ports,
        ["2003/tcp", "2003/udp", "2004/tcp", "7002/tcp", "8080/tcp"]
    );
    assert!(
        dockerfile.contains("USER charcoal"),
        "runs as a non-root user"
    );
}

#[test]
fn entrypoint_prefers_a_mounted_carbon_conf() {
    let tmp = tempfile::tempdir().unwrap();
    // A stand-in `charcoal` that prints its arguments.
    let bin = tmp.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::write(bin.join("charcoal"), "#!/bin/sh\necho \"$@\"\n").unwrap();
    Command::new("chmod")
        .arg("+x")
        .arg(bin.join("charcoal"))
        .status()
        .unwrap();
    let run = |conf: &Path, args: &[&str]| {
        let out = Command::new("sh")
            .arg(Path::new(ROOT).join("docker/entrypoint.sh"))
            .args(args)
            .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
            .env("CHARCOAL_CONFIG", conf)
            .env("CHARCOAL_STORAGE", "/data")
            .output()
            .unwrap();
        assert!(out.status.success());
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    };
    let conf = tmp.path().join("carbon.conf");
    assert_eq!(run(&conf, &[]), "serve --storage-dir /data");
    assert_eq!(
        run(&conf, &["serve", "--writers", "2"]),
        "serve --storage-dir /data --writers 2"
    );
    std::fs::write(&conf, "[cache]\n").unwrap();
    assert_eq!(
        run(&conf, &["serve"]),
        format!("serve --config {}", conf.display())
    );
    assert_eq!(run(&conf, &["charcoal", "health"]), "health");
}

#[test]
fn health_subcommand_tells_up_from_down() {
    let server = Server::start(&[]);
    let probe = |addr: String| {
        Command::new(env!("CARGO_BIN_EXE_charcoal"))
            .args(["health", "--http", &addr, "--timeout", "5"])
            .output()
            .unwrap()
            .status
            .success()
    };
    assert!(probe(server.addr("http").to_string()));
    let closed = crate::reference::free_ports(1)[0];
    assert!(!probe(format!("127.0.0.1:{closed}")));
}

//! The tag database end to end: tagged series received over carbon are found by
//! `seriesByTag()` and `/tags/*`, also after a restart, and `/tags/*` answers as Debian's
//! graphite-web answers for the same series.

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::Value;

use crate::reference::{http_get, http_request};
use crate::util::{Server, enc, eventually, now};

fn post(addr: SocketAddr, path: &str, form: &str) -> (u16, String) {
    http_request(addr, "POST", path, Some(form))
}

/// The series names a render answer holds, sorted, with each one's non-null values.
fn rendered(body: &str) -> Vec<(String, Vec<f64>)> {
    let v: Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"));
    let mut out: Vec<(String, Vec<f64>)> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let values = s["datapoints"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|p| p[0].as_f64())
                .collect();
            (s["target"].as_str().unwrap().to_owned(), values)
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn render_by_tag(server: &Server, exprs: &str) -> Vec<(String, Vec<f64>)> {
    let target = format!("seriesByTag({exprs})");
    let (status, body) = server.http_get(&format!(
        "/render?target={}&from=-10min&format=json",
        enc(&target)
    ));
    assert_eq!(status, 200, "{body}");
    rendered(&body)
}

#[test]
fn tagged_series_are_found_by_tag_and_survive_a_restart() {
    let mut server = Server::start(&[]);
    let t = now();
    server.send_lines(
        format!(
            "disk.used;host=a;dc=x 1 {t}\ndisk.used;dc=y;host=b 2 {t}\n\
             cpu;host=a 3 {t}\nplain.metric 4 {t}\n"
        )
        .as_bytes(),
    );
    let expected = r#"["cpu;host=a", "disk.used;dc=x;host=a", "disk.used;dc=y;host=b"]"#;
    let found = eventually(Duration::from_secs(10), || {
        let (_, body) = server.http_get("/tags/findSeries?expr=host%3D~.");
        (body == expected).then_some(body)
    });
    assert!(found.is_some(), "the tagged series reach the tag index");
    assert_eq!(
        render_by_tag(&server, "'name=disk.used'"),
        [
            ("disk.used;dc=x;host=a".to_owned(), vec![1.0]),
            ("disk.used;dc=y;host=b".to_owned(), vec![2.0])
        ]
    );
    assert_eq!(
        render_by_tag(&server, "'host=a', 'dc!=x'"),
        [("cpu;host=a".to_owned(), vec![3.0])]
    );
    // The untagged metric is not in the tag index.
    assert_eq!(
        server.http_get("/tags/name").1,
        r#"{"tag": "name", "values": [{"value": "cpu", "count": 1}, {"value": "disk.used", "count": 2}]}"#
    );
    assert_eq!(
        server.http_get("/tags").1,
        r#"[{"tag": "dc"}, {"tag": "host"}, {"tag": "name"}]"#
    );
    assert_eq!(
        server
            .http_get("/tags/autoComplete/values?tag=host&expr=name%3Ddisk.used")
            .1,
        r#"["a", "b"]"#
    );
    // A bad expression in a render is the request's fault.
    let (status, body) = server.http_get("/render?target=seriesByTag('dc%3D')&format=json");
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("At least one tagspec"), "{body}");

    // Names posted over HTTP are indexed too (and normalised); one is deleted again.
    let http = server.addr("http");
    let (status, body) = post(
        http,
        "/tags/tagMultiSeries",
        &format!(
            "path={}&path={}",
            enc("net.rx;if=eth0;host=c"),
            enc("gone;x=1")
        ),
    );
    assert_eq!(
        (status, body.as_str()),
        (200, r#"["net.rx;host=c;if=eth0", "gone;x=1"]"#)
    );
    assert_eq!(post(http, "/tags/delSeries", "path=gone%3Bx%3D1").1, "true");
    // A posted name without data is in the tag index but not rendered.
    assert!(render_by_tag(&server, "'host=c'").is_empty());

    let status = server.terminate();
    assert!(status.success(), "{status:?}");
    let dir = std::mem::replace(&mut server.dir, tempfile::tempdir().unwrap());
    drop(server);
    let server = Server::start_in(dir, &[]);
    assert_eq!(
        server.http_get("/tags/findSeries?expr=host%3D~.").1,
        r#"["cpu;host=a", "disk.used;dc=x;host=a", "disk.used;dc=y;host=b", "net.rx;host=c;if=eth0"]"#
    );
    assert_eq!(server.http_get("/tags/findSeries?expr=x%3D1").1, "[]");
    // After the restart the points come from the files written at shutdown.
    assert_eq!(
        render_by_tag(&server, "'name=disk.used', 'host=b'"),
        [("disk.used;dc=y;host=b".to_owned(), vec![2.0])]
    );
}

/// graphite-web's `/tags` and `/tags/<tag>` carry SQL row ids Charcoal does not have; they
/// are removed from its answers before comparing (docs/compatibility.md).
fn strip_ids(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("\"id\": ") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 6..];
        let digits = after.bytes().take_while(u8::is_ascii_digit).count();
        let after = &after[digits..];
        let after = after.strip_prefix(',').unwrap_or(after);
        // The id is never the last key, so the next key starts after the separator.
        rest = after.trim_start_matches([' ', '\n']);
    }
    out.push_str(rest);
    out
}

#[test]
fn tags_api_answers_like_graphite_web() {
    let server = Server::start(&[]);
    let graphite_web = crate::reference::empty_graphite_web();
    let web = graphite_web.addr;
    let ours = server.addr("http");

    let names = [
        "disk.used;host=a;dc=x",
        "disk.used;dc=y;host=b",
        "cpu;host=a;dc=x;rack=r1",
        "cpu;host=b",
        "mem;zone=eu;host=c",
        "mem;zone=\u{e9}t\u{e9};host=d",
        "m;t=xb",
        "m;t=ab",
        "plain.untagged",
        "solo;name=renamed",
        "net{if=\"eth0\",host=\"a\"}",
        "tmp;host=a;dc=x",
    ];
    let form: Vec<String> = names.iter().map(|n| format!("path={}", enc(n))).collect();
    let form = form.join("&");
    let a = post(ours, "/tags/tagMultiSeries", &form);
    let b = post(web, "/tags/tagMultiSeries", &form);
    assert_eq!(a, b, "tagMultiSeries");
    let single = format!("path[]={}", enc("x.y;b=2;a=1"));
    assert_eq!(
        post(ours, "/tags/tagMultiSeries", &single),
        post(web, "/tags/tagMultiSeries", &single)
    );
    let one = format!("path={}", enc("one;z=1;y=2"));
    assert_eq!(
        post(ours, "/tags/tagSeries", &one),
        post(web, "/tags/tagSeries", &one)
    );
    // Every tag of this series is shared, so graphite-web's kept tag rows cannot show.
    let del = format!("path={}", enc("tmp;dc=x;host=a"));
    assert_eq!(
        post(ours, "/tags/delSeries", &del),
        post(web, "/tags/delSeries", &del)
    );

    let mut gets: Vec<String> = Vec::new();
    for q in [
        "",
        "?pretty=1",
        "?filter=h",
        "?filter=%5E.*e%24",
        "?filter=a%7Cz",
        "?limit=2",
        "?limit=0",
        "?limit=-1",
        "?limit=",
        "?limit=x",
        "?filter=h&limit=1&from=-1h&local=1",
    ] {
        gets.push(format!("/tags{q}"));
    }
    gets.push("/tags/?filter=n".into());
    for q in [
        "host",
        "host?filter=a%7Cb",
        "host?limit=1",
        "host?limit=-2",
        "name",
        "nosuch",
        "dc?pretty=1",
        "zone",
        "t?filter=x",
        "host?limit=z",
    ] {
        gets.push(format!("/tags/{q}"));
    }
    let find_sets: &[&[&str]] = &[
        &["host=a"],
        &["host!=a"],
        &["name=cpu", "host!=a"],
        &["host=~a|b", "dc="],
        &["name=~dis"],
        &["name=~used"],
        &["host=~.", "dc!=~x"],
        &["rack!="],
        &["zone!=~^$"],
        &["name=cpu", "rack=~.*"],
        &["nosuch=x"],
        &["t=~^a|b"],
        &["name=m", "t=~^a|b|^$"],
        &["zone=~\u{e9}"],
        &["name=renamed"],
        &["name=solo"],
        &["name=plain.untagged"],
        &["host=a", "name!=~c"],
        &["dc="],
        &["foo"],
        &[""],
        &["host==a"],
        &["a=b;c"],
    ];
    for set in find_sets {
        let q: Vec<String> = set.iter().map(|e| format!("expr={}", enc(e))).collect();
        gets.push(format!("/tags/findSeries?{}", q.join("&")));
    }
    gets.push("/tags/findSeries".into());
    gets.push(format!("/tags/findSeries?expr[]={}", enc("host=b")));
    for q in [
        "",
        "?tagPrefix=h",
        "?limit=2",
        "?limit=0",
        "?limit=-1",
        "?limit=",
        "?limit=x",
        "?expr=host%3Da",
        "?expr=host%3Da&tagPrefix=r",
        "?expr=host%3D~.&limit=2",
        "?expr=host%3D~.&limit=-1",
        "?expr=host%3D~.&limit=0",
        "?expr=host%3D~.&expr=name%3D~m",
        "?expr=bad",
        "?expr=dc%3D",
        "?expr[]=host%3Db&pretty=1",
    ] {
        gets.push(format!("/tags/autoComplete/tags{q}"));
    }
    for q in [
        "?tag=host",
        "?tag=host&valuePrefix=b",
        "?tag=nosuch",
        "?tag=dc&expr=name%3Dcpu",
        "?tag=name&expr=host%3D~.&valuePrefix=d",
        "?tag=name&expr=host%3D~.&limit=2",
        "?tag=name&expr=host%3D~.&limit=-1",
        "?tag=name&limit=-1",
        "?tag=name&limit=0",
        "?tag=zone",
        "",
        "?expr=host%3Da",
        "?tag=",
        "?tag=host&expr=dc%3D",
        "?tag=host&limit=q",
        "?tag=a%3Db&expr=host%3Da",
    ] {
        gets.push(format!("/tags/autoComplete/values{q}"));
    }

    let mut failures = Vec::new();
    let mut compare = |what: String, a: (u16, String), b: (u16, String)| {
        let b = (b.0, strip_ids(&b.1));
        if a != b {
            failures.push(format!("{what}:\n  ours   {a:?}\n  theirs {b:?}"));
        }
    };
    for g in &gets {
        compare(g.clone(), http_get(ours, g), http_get(web, g));
    }
    for (path, form) in [
        ("/tags/findSeries", "expr=host%3Db&expr=dc%3Dy"),
        ("/tags/autoComplete/tags", "expr=host%3Db"),
        ("/tags/autoComplete/values", "tag=dc&expr=host%3D~."),
        ("/tags/tagSeries", ""),
        ("/tags/tagMultiSeries", ""),
        ("/tags/delSeries", ""),
    ] {
        compare(
            format!("POST {path} {form}"),
            post(ours, path, form),
            post(web, path, form),
        );
    }
    for (method, path) in [
        ("POST", "/tags"),
        ("POST", "/tags/host"),
        ("GET", "/tags/tagSeries"),
        ("GET", "/tags/tagMultiSeries"),
        ("GET", "/tags/delSeries"),
        ("PUT", "/tags/findSeries"),
        ("DELETE", "/tags/autoComplete/tags"),
    ] {
        compare(
            format!("{method} {path}"),
            http_request(ours, method, path, None),
            http_request(web, method, path, None),
        );
    }
    // Deliberate differences: a regular expression the regex crate refuses and a name that
    // cannot be parsed are the request's fault here (400), Python's exception (500) there.
    for (method, path, form) in [
        ("GET", "/tags/findSeries?expr=host%3D~(a", None),
        ("GET", "/tags?filter=(", None),
        ("POST", "/tags/tagSeries", Some("path=%3Bx%3D1")),
    ] {
        let (status, body) = http_request(ours, method, path, form);
        let (theirs, _) = http_request(web, method, path, form);
        assert_eq!((status, theirs), (400, 500), "{path}: {body}");
        assert!(body.starts_with("{\"error\": "), "{path}: {body}");
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

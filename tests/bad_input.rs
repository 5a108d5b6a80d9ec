//! Bad requests to every kind of endpoint get a clear 4xx and lose nothing already stored:
//! malformed event JSON, a tag expression without an `=` matcher, a regular expression
//! that does not compile, a 10 MB body; then the metric, the tagged series and the event
//! stored before are all still there.

use std::time::Duration;

use crate::util::{Server, enc, eventually, http, now};

#[test]
fn bad_requests_are_4xx_and_lose_nothing() {
    let server = Server::start(&[]);
    let addr = server.addr("http");
    let t = now() - now() % 60;
    server.send_lines(format!("kept.metric 7 {t}\nkept.tagged;env=prod 8 {t}\n").as_bytes());
    let post =
        |path: &str, ct: &str, body: &[u8]| http(addr, "POST", path, &[("Content-Type", ct)], body);
    let event = post(
        "/events/",
        "application/json",
        br#"{"what": "release 1.0", "tags": ["deploy"], "when": 1700000000}"#,
    );
    assert_eq!(event.status, 200, "{}", event.body);
    let stored = |server: &Server| {
        let (_, metric) = server.http_get(&format!(
            "/render?target=kept.metric&from={}&until={}&format=json",
            t - 60,
            t + 60
        ));
        let (_, tagged) = server.http_get(&format!(
            "/render?target={}&from={}&until={}&format=json",
            enc("seriesByTag('env=prod')"),
            t - 60,
            t + 60
        ));
        let (_, events) = server.http_get("/events/get_data?from=1699999000&until=1700001000");
        (metric, tagged, events)
    };
    let before = eventually(Duration::from_secs(20), || {
        let s = stored(&server);
        (s.0.contains("[7.0, ") && s.1.contains("[8.0, ") && s.2.contains("release 1.0"))
            .then_some(s)
    })
    .expect("the metric, the tagged series and the event are stored");

    for (status, body, what) in [
        {
            let a = post(
                "/events/",
                "application/json",
                b"{\"what\": \"x\", \"tags\": [1, ",
            );
            (a.status, a.body, "malformed event JSON")
        },
        {
            let (s, b) = server.http_get(&format!("/tags/findSeries?expr={}", enc("env!=prod")));
            (s, b, "a tag expression with no = matcher")
        },
        {
            let (s, b) = server.http_get(&format!("/tags/findSeries?expr={}", enc("env=~(prod")));
            (s, b, "a tag regex that does not compile")
        },
        {
            let (s, b) = server.http_get(&format!(
                "/render?target={}&format=json",
                enc("grep(kept.*, \"(unclosed\")")
            ));
            (s, b, "a render regex that does not compile")
        },
        {
            let (s, b) = server.http_get(&format!(
                "/tags/findSeries?expr={}",
                enc("name=~(a{1000}){1000}")
            ));
            (s, b, "a tag regex too complex to compile")
        },
        {
            let (s, b) = server.http_get(&format!(
                "/render?target={}&format=json",
                enc("seriesByTag('env=~(x{1000}){1000}')")
            ));
            (s, b, "a seriesByTag regex too complex to compile")
        },
        {
            // The server answers 413 and closes before the upload ends: write what it
            // takes, then read the answer.
            use std::io::{Read, Write};
            let mut s = std::net::TcpStream::connect(addr).unwrap();
            s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
            let big = vec![b'x'; 10 << 20];
            let head = format!(
                "POST /render HTTP/1.0\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n",
                big.len()
            );
            let _ = s
                .write_all(head.as_bytes())
                .and_then(|()| s.write_all(&big));
            let mut answer = Vec::new();
            let _ = s.read_to_end(&mut answer);
            let answer = String::from_utf8_lossy(&answer).into_owned();
            let status = answer
                .split_whitespace()
                .nth(1)
                .and_then(|c| c.parse().ok())
                .unwrap_or(0);
            (status, answer, "a 10 MB body")
        },
    ] {
        assert!((400..500).contains(&status), "{what}: HTTP {status} {body}");
        assert!(
            !body.trim().is_empty() || status == 413,
            "{what}: an empty answer"
        );
    }
    assert_eq!(stored(&server), before, "nothing stored changed");
}

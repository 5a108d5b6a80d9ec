//! Whisper files changed underneath a running server: resized by an operator with
//! Debian's `whisper-resize`, deleted, or replaced by garbage. No crash, the change is
//! picked up (writes go to the new file, reads see it), and a corrupt file is reported in
//! the log and by `/ready` while its points wait in the cache.

use std::time::Duration;

use crate::util::{Server, eventually, now, python_run, whisper_points};

#[test]
fn resized_deleted_and_corrupted_files_are_handled() {
    let mut server = Server::start(&[]);
    let base = now() - now() % 60 - 600;
    server.send_lines(
        format!("under.resized 1 {base}\nunder.deleted 2 {base}\nunder.corrupt 3 {base}\n")
            .as_bytes(),
    );
    let files = ["resized", "deleted", "corrupt"].map(|m| server.file(&format!("under.{m}")));
    eventually(Duration::from_secs(20), || {
        files
            .iter()
            .all(|f| f.exists() && !whisper_points(f).is_empty())
            .then_some(())
    })
    .expect("the three files are written");

    // An operator resizes one in place (whisper-resize writes a new file and renames it).
    let out = std::process::Command::new("whisper-resize")
        .arg(&files[0])
        .args(["60s:2d", "--nobackup"])
        .output()
        .expect("Debian's whisper-resize");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::remove_file(&files[1]).unwrap();
    std::fs::write(
        &files[2],
        b"this is not a whisper file at all, not even a header",
    )
    .unwrap();

    let next = base + 60;
    server.send_lines(
        format!("under.resized 10 {next}\nunder.deleted 20 {next}\nunder.corrupt 30 {next}\n")
            .as_bytes(),
    );
    // The resized file gets the new point, with its new retention.
    eventually(Duration::from_secs(20), || {
        whisper_points(&files[0])
            .contains(&(next, 10.0))
            .then_some(())
    })
    .expect("written to the resized file");
    let retention = python_run(
        "import sys, whisper; print(whisper.info(sys.argv[1])['maxRetention'])",
        &[files[0].to_str().unwrap()],
    );
    assert_eq!(retention.trim(), "172800");
    // The deleted file comes back with the new point.
    eventually(Duration::from_secs(20), || {
        (files[1].exists() && whisper_points(&files[1]) == [(next, 20.0)]).then_some(())
    })
    .expect("the deleted file is created again");
    // The corrupt one: an error in the log, /ready says so, the server keeps serving.
    server.wait_log("under.corrupt", Duration::from_secs(20));
    eventually(Duration::from_secs(20), || {
        let (status, body) = server.http_get("/ready");
        (status == 503 && body.contains("write failed")).then_some(())
    })
    .expect("/ready reports the failing file");
    // Reads pick up the resized file (the handle is re-checked within a second).
    let body = eventually(Duration::from_secs(10), || {
        let (status, body) = server.http_get(&format!(
            "/render?target=under.*&from={}&until={}&format=json",
            base - 60,
            next + 60
        ));
        (status == 200 && body.contains("[10.0, ")).then_some(body)
    })
    .expect("renders see the resized file's new point");
    assert!(body.contains("under.deleted"), "{body}");
    assert_eq!(server.http_get("/health").0, 200);
    // The corrupt file's points were kept: replacing it with a good file lets them through.
    std::fs::remove_file(&files[2]).unwrap();
    eventually(Duration::from_secs(30), || {
        (files[2].exists() && whisper_points(&files[2]) == [(next, 30.0)]).then_some(())
    })
    .expect("the kept points are written once the file is fixed");
}

//! qemu/host-check, which qemu/test runs around the whole suite to prove that the machine is left
//! as it was found, must see what a test leaves behind: here a listening socket.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Command;

fn host_check(args: &[&str]) -> (bool, String) {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("qemu/host-check");
    let out = Command::new(script)
        .args(args)
        .output()
        .expect("run qemu/host-check");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

#[test]
fn a_listener_left_behind_is_named_and_one_that_is_gone_is_not() {
    let snapshot = std::env::temp_dir().join(format!(
        "kboot-host-check-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0)
    ));
    let snap = snapshot.to_str().unwrap();
    let (ok, err) = host_check(&["snapshot", snap]);
    assert!(ok, "snapshot failed: {err}");

    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let ours = format!("new listen tcp 127.0.0.1:{port} ");
    let (ok, err) = host_check(&["compare", snap]);
    assert!(
        !ok,
        "host-check passed with a new listener on {port}: {err}"
    );
    assert!(err.contains(&ours), "'{ours}' not named in: {err}");

    drop(listener);
    // Other suites on this machine may come and go meanwhile, so only ours is asserted.
    let (_, err) = host_check(&["compare", snap]);
    assert!(
        !err.contains(&ours),
        "a closed listener is still named: {err}"
    );

    let (ok, err) = host_check(&["compare", "/nonexistent/kboot-snapshot"]);
    assert!(!ok && err.contains("no snapshot"), "{err}");
    let _ = std::fs::remove_file(&snapshot);
}

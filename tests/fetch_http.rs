//! HTTP(S) fetching against real servers on 127.0.0.1: a fault-injecting server written here
//! with std::net threads, `python3 -m http.server` for a large file, and a rustls server with a
//! test CA made by rcgen. Every fetch runs under a watchdog, so nothing can hang the suite.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use kboot::fetch::{fetch, FetchError, FetchOptions, Progress};
use sha2::{Digest, Sha256};

// ---- helpers ------------------------------------------------------------------------------

/// Deterministic non-repeating test bytes.
fn data(len: usize) -> Vec<u8> {
    let mut x: u32 = 0x1234_5678;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x >> 24) as u8
        })
        .collect()
}

fn hex(d: &[u8]) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}

fn sha256_hex(d: &[u8]) -> String {
    hex(&Sha256::digest(d))
}

fn opts() -> FetchOptions {
    FetchOptions {
        connect_timeout: Some(Duration::from_secs(3)),
        idle_timeout: Some(Duration::from_secs(3)),
        ..FetchOptions::default()
    }
}

/// Run `f` on a thread and fail the test if it takes longer than `limit`.
fn bounded<T: Send + 'static>(limit: Duration, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(limit) {
        Ok(v) => v,
        Err(_) => panic!("took longer than {limit:?}"),
    }
}

struct Outcome {
    result: Result<u64, FetchError>,
    body: Vec<u8>,
    progress: Vec<Progress>,
    elapsed: Duration,
}

fn get_with(url: String, o: FetchOptions) -> Outcome {
    bounded(Duration::from_secs(60), move || {
        let mut body = Vec::new();
        let mut progress = Vec::new();
        let cancel = AtomicBool::new(false);
        let started = Instant::now();
        let result = fetch(
            &url,
            &mut body,
            &o,
            &mut |p| progress.push(p.clone()),
            &cancel,
        );
        Outcome {
            result,
            body,
            progress,
            elapsed: started.elapsed(),
        }
    })
}

fn get(url: String) -> Outcome {
    get_with(url, opts())
}

/// One parsed request.
struct Request {
    line: String,
    path: String,
    range_from: Option<usize>,
}

fn read_request(stream: &TcpStream) -> Option<Request> {
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let path = line.split_whitespace().nth(1)?.to_string();
    let mut range_from = None;
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).ok()? == 0 || h == "\r\n" {
            break;
        }
        let lower = h.to_ascii_lowercase();
        if let Some(v) = lower.strip_prefix("range: bytes=") {
            range_from = v.trim().trim_end_matches('-').parse().ok();
        }
    }
    Some(Request {
        line: line.trim_end().to_string(),
        path,
        range_from,
    })
}

type Handler = dyn Fn(Request, &mut TcpStream) + Send + Sync;

/// A test server on 127.0.0.1; returns its base URL and the number of requests seen.
fn serve(
    handler: impl Fn(Request, &mut TcpStream) + Send + Sync + 'static,
) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let handler: Arc<Handler> = Arc::new(handler);
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let handler = handler.clone();
            let seen = seen.clone();
            thread::spawn(move || {
                if let Some(req) = read_request(&stream) {
                    seen.fetch_add(1, Ordering::SeqCst);
                    handler(req, &mut stream);
                }
                let _ = stream.flush();
                let _ = stream.shutdown(Shutdown::Both);
            });
        }
    });
    (format!("http://127.0.0.1:{port}"), count)
}

fn head(status: &str, len: usize, extra: &str) -> String {
    format!("HTTP/1.1 {status}\r\nContent-Length: {len}\r\nConnection: close\r\n{extra}\r\n")
}

/// Serve `body` honouring Range; `cut` drops each connection after that many body bytes.
fn ranged(body: Arc<Vec<u8>>, cut: Option<usize>) -> impl Fn(Request, &mut TcpStream) {
    move |req, s| {
        let total = body.len();
        let from = req.range_from.unwrap_or(0).min(total);
        let header = match req.range_from {
            Some(_) => head(
                "206 Partial Content",
                total - from,
                &format!("Content-Range: bytes {from}-{}/{total}\r\n", total - 1),
            ),
            None => head("200 OK", total, "Accept-Ranges: bytes\r\n"),
        };
        let end = cut.map_or(total, |c| (from + c).min(total));
        let _ = s.write_all(header.as_bytes());
        let _ = s.write_all(&body[from..end]);
    }
}

// ---- plain HTTP ---------------------------------------------------------------------------

#[test]
fn normal_file_streams_identical_bytes_with_progress_total() {
    let body = Arc::new(data(1_000_003));
    let (base, _) = serve(ranged(body.clone(), None));
    let out = get(format!("{base}/vmlinuz"));
    assert_eq!(out.result.unwrap(), body.len() as u64);
    assert!(out.body == *body, "bytes differ");
    let last = out.progress.last().unwrap();
    assert_eq!(last.bytes, body.len() as u64);
    assert_eq!(last.total, Some(body.len() as u64));
    assert!(last.url.ends_with("/vmlinuz"));
}

#[test]
fn a_long_url_fits_the_request_buffer() {
    // Signed URLs carry long query strings; kboot's request buffer is 32 KiB (not ureq's
    // 128 KiB default). 24 000 characters of query must go out whole.
    let query = "q".repeat(24_000);
    let (base, _) = serve(move |req, s| {
        let body = req.path.len().to_string();
        let _ = s.write_all(head("200 OK", body.len(), "").as_bytes());
        let _ = s.write_all(body.as_bytes());
    });
    let out = get(format!("{base}/vmlinuz?sig={query}"));
    assert!(out.result.is_ok(), "{:?}", out.result);
    assert_eq!(String::from_utf8(out.body).unwrap(), "24013");
    // Past the buffer it is an error that names the URL, not a hang or a panic.
    let url = format!("{base}/vmlinuz?sig={}", "q".repeat(40_000));
    let len = url.len();
    let err = get(url).result.unwrap_err().to_string();
    assert!(
        err.starts_with(&format!("the URL {base}/vmlinuz?sig=qq")),
        "{err}"
    );
    let tail = format!("... is {len} characters long; kboot sends at most 28672: shorten it");
    assert!(err.ends_with(&tail), "{err}");
}

#[test]
fn not_found_names_status_host_and_path() {
    let (base, _) = serve(|_, s| {
        let _ = s.write_all(head("404 Not Found", 9, "").as_bytes());
        let _ = s.write_all(b"not found");
    });
    let out = get(format!("{base}/vmlinuz"));
    let err = out.result.unwrap_err();
    let host = base.trim_start_matches("http://");
    assert_eq!(
        err.to_string(),
        format!("HTTP 404 Not Found from {host} for /vmlinuz")
    );
    assert!(matches!(err, FetchError::Http { status: 404, .. }));
}

#[test]
fn connection_dropped_mid_file_resumes_with_range() {
    let body = Arc::new(data(300_000));
    // Every connection dies after 100 kB: three connections are needed.
    let (base, count) = serve(ranged(body.clone(), Some(100_000)));
    let out = get(format!("{base}/initrd"));
    assert_eq!(out.result.unwrap(), body.len() as u64);
    assert!(out.body == *body, "bytes differ after resuming");
    assert_eq!(count.load(Ordering::SeqCst), 3);
}

#[test]
fn too_many_drops_is_truncated() {
    let body = Arc::new(data(1_000_000));
    let (base, count) = serve(ranged(body.clone(), Some(10_000)));
    let err = get(format!("{base}/initrd")).result.unwrap_err();
    assert!(
        err.to_string()
            .contains("truncated: got 40000 of 1000000 bytes"),
        "{err}"
    );
    assert_eq!(
        count.load(Ordering::SeqCst),
        4,
        "one request and three resumes"
    );
}

#[test]
fn server_ignoring_range_is_a_clear_error() {
    let body = Arc::new(data(200_000));
    let b = body.clone();
    let (base, _) = serve(move |_, s| {
        // Always 200 with the whole length, always dropping half way.
        let _ = s.write_all(head("200 OK", b.len(), "").as_bytes());
        let _ = s.write_all(&b[..100_000]);
    });
    let err = get(format!("{base}/k")).result.unwrap_err();
    assert!(
        matches!(err, FetchError::RangeIgnored { got: 100_000, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("Range"), "{err}");
}

#[test]
fn content_length_longer_than_body_is_truncated() {
    let body = Arc::new(data(50_000));
    let b = body.clone();
    let (base, _) = serve(move |req, s| {
        let claimed = b.len() + 100;
        match req.range_from {
            None => {
                let _ = s.write_all(head("200 OK", claimed, "").as_bytes());
                let _ = s.write_all(&b);
            }
            // Agrees to resume, then sends nothing again.
            Some(from) => {
                let _ = s.write_all(
                    head(
                        "206 Partial Content",
                        claimed - from,
                        &format!("Content-Range: bytes {from}-{}/{claimed}\r\n", claimed - 1),
                    )
                    .as_bytes(),
                );
            }
        }
    });
    let err = get(format!("{base}/k")).result.unwrap_err();
    assert!(
        err.to_string()
            .contains("truncated: got 50000 of 50100 bytes"),
        "{err}"
    );
}

#[test]
fn body_longer_than_content_length_is_an_error() {
    let body = Arc::new(data(50_000));
    let b = body.clone();
    let (base, _) = serve(move |_, s| {
        let mut all = head("200 OK", b.len() - 100, "").into_bytes();
        all.extend_from_slice(&b);
        let _ = s.write_all(&all);
    });
    let err = get(format!("{base}/k")).result.unwrap_err();
    assert!(
        matches!(
            err,
            FetchError::TooLong {
                expected: 49_900,
                ..
            }
        ),
        "{err}"
    );
    assert!(
        err.to_string().contains("more than its Content-Length"),
        "{err}"
    );
}

#[test]
fn stalled_server_times_out_within_a_bound() {
    let body = Arc::new(data(100_000));
    let b = body.clone();
    let (base, _) = serve(move |req, s| {
        if req.path == "/silent" {
            thread::sleep(Duration::from_secs(20));
            return;
        }
        let from = req.range_from.unwrap_or(0);
        let _ = s.write_all(head("200 OK", b.len() - from, "").as_bytes());
        let _ = s.write_all(&b[from..from + 1000]);
        thread::sleep(Duration::from_secs(20));
    });
    let o = FetchOptions {
        idle_timeout: Some(Duration::from_millis(300)),
        ..opts()
    };
    // Stalls mid-body: 1 + 3 resumes, each 300 ms idle; the server ignores Range.
    let out = get_with(format!("{base}/stall"), o.clone());
    assert!(out.elapsed < Duration::from_secs(10), "{:?}", out.elapsed);
    let err = out.result.unwrap_err();
    assert!(
        matches!(err, FetchError::RangeIgnored { got: 1000, .. }),
        "{err}"
    );
    // Stalls before any header.
    let out = get_with(format!("{base}/silent"), o);
    assert!(out.elapsed < Duration::from_secs(10), "{:?}", out.elapsed);
    let err = out.result.unwrap_err();
    assert!(matches!(err, FetchError::Timeout { .. }), "{err}");
    assert!(err.to_string().contains("idle timeout"), "{err}");
}

#[test]
fn stall_with_range_support_ends_truncated_with_the_timeout_as_cause() {
    let body = Arc::new(data(100_000));
    let b = body.clone();
    let (base, count) = serve(move |req, s| {
        let total = b.len();
        let from = req.range_from.unwrap_or(0);
        let header = match req.range_from {
            Some(_) => head(
                "206 Partial Content",
                total - from,
                &format!("Content-Range: bytes {from}-{}/{total}\r\n", total - 1),
            ),
            None => head("200 OK", total, ""),
        };
        let _ = s.write_all(header.as_bytes());
        let _ = s.write_all(&b[from..from + 1000]);
        thread::sleep(Duration::from_secs(20));
    });
    let o = FetchOptions {
        idle_timeout: Some(Duration::from_millis(300)),
        ..opts()
    };
    let out = get_with(format!("{base}/stall"), o);
    assert!(out.elapsed < Duration::from_secs(10), "{:?}", out.elapsed);
    let err = out.result.unwrap_err().to_string();
    assert!(err.contains("truncated: got 4000 of 100000 bytes"), "{err}");
    assert!(err.contains("idle timeout"), "{err}");
    assert_eq!(count.load(Ordering::SeqCst), 4);
}

#[test]
fn redirect_loop_is_a_clear_error() {
    let (base, _) = serve(|req, s| {
        let to = if req.path == "/a" { "/b" } else { "/a" };
        let _ = s.write_all(head("302 Found", 0, &format!("Location: {to}\r\n")).as_bytes());
    });
    let err = get(format!("{base}/a")).result.unwrap_err();
    assert!(matches!(err, FetchError::RedirectLoop { .. }), "{err}");
    assert!(err.to_string().contains(&format!("{base}/a")), "{err}");
}

#[test]
fn endless_redirects_stop_at_the_limit() {
    let (base, count) = serve(|req, s| {
        let n: u32 = req.path.trim_start_matches('/').parse().unwrap_or(0);
        let to = format!("/{}", n + 1);
        let _ = s.write_all(head("301 Moved", 0, &format!("Location: {to}\r\n")).as_bytes());
    });
    let err = get(format!("{base}/0")).result.unwrap_err();
    assert!(
        matches!(err, FetchError::TooManyRedirects { limit: 10, .. }),
        "{err}"
    );
    assert_eq!(count.load(Ordering::SeqCst), 11);
}

#[test]
fn redirect_chain_is_followed_and_resumes_use_the_final_url() {
    let body = Arc::new(data(250_000));
    let (file_base, file_hits) = serve(ranged(body.clone(), Some(100_000)));
    let target = format!("{file_base}/real/vmlinuz");
    let (base, hits) = serve(move |req, s| {
        let loc = match req.path.as_str() {
            "/r1" => "r2".to_string(),      // relative
            "/r2" => "/dir/r3".to_string(), // absolute path
            "/dir/r3" => target.clone(),    // another server
            _ => return,
        };
        let _ = s.write_all(
            head("307 Temporary Redirect", 0, &format!("Location: {loc}\r\n")).as_bytes(),
        );
    });
    let out = get(format!("{base}/r1"));
    assert_eq!(out.result.unwrap(), body.len() as u64);
    assert!(out.body == *body);
    assert_eq!(
        hits.load(Ordering::SeqCst),
        3,
        "resumes must not redirect again"
    );
    assert_eq!(file_hits.load(Ordering::SeqCst), 3);
}

#[test]
fn sha256_match_and_mismatch() {
    let body = Arc::new(data(123_456));
    let (base, _) = serve(ranged(body.clone(), Some(50_000)));
    let good = FetchOptions {
        sha256: Some(sha256_hex(&body).to_uppercase()),
        ..opts()
    };
    let out = get_with(format!("{base}/k"), good);
    assert_eq!(out.result.unwrap(), body.len() as u64);
    let wrong = sha256_hex(b"something else");
    let bad = FetchOptions {
        sha256: Some(wrong.clone()),
        ..opts()
    };
    let err = get_with(format!("{base}/k"), bad).result.unwrap_err();
    assert!(matches!(err, FetchError::Sha256Mismatch { .. }), "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains(&wrong) && msg.contains(&sha256_hex(&body)),
        "{msg}"
    );
    let malformed = FetchOptions {
        sha256: Some("abc".into()),
        ..opts()
    };
    let err = get_with(format!("{base}/k"), malformed).result.unwrap_err();
    assert!(matches!(err, FetchError::BadSha256 { .. }), "{err}");
}

#[test]
fn size_limit_and_cancel() {
    let body = Arc::new(data(100_000));
    let (base, _) = serve(ranged(body.clone(), None));
    let o = FetchOptions {
        max_size: Some(1000),
        ..opts()
    };
    let err = get_with(format!("{base}/k"), o).result.unwrap_err();
    assert!(
        matches!(err, FetchError::TooLarge { limit: 1000, .. }),
        "{err}"
    );
    // Without Content-Length the limit is enforced while streaming.
    let b = body.clone();
    let (base2, _) = serve(move |_, s| {
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n");
        let _ = s.write_all(&b);
    });
    let o = FetchOptions {
        max_size: Some(1000),
        ..opts()
    };
    let err = get_with(format!("{base2}/k"), o).result.unwrap_err();
    assert!(matches!(err, FetchError::TooLarge { .. }), "{err}");
    // Cancelled while streaming (the sink flips the flag on the first write).
    struct Canceller(Arc<AtomicBool>);
    impl Write for Canceller {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.store(true, Ordering::SeqCst);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let url = format!("{base2}/k");
    let err = bounded(Duration::from_secs(30), move || {
        let cancel = Arc::new(AtomicBool::new(false));
        let mut sink = Canceller(cancel.clone());
        fetch(&url, &mut sink, &opts(), &mut |_| {}, &cancel).unwrap_err()
    });
    assert!(matches!(err, FetchError::Cancelled { .. }), "{err}");
}

#[test]
fn connection_refused_is_a_network_error() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let err = get(format!("http://127.0.0.1:{port}/k"))
        .result
        .unwrap_err();
    assert!(matches!(err, FetchError::Network { .. }), "{err}");
    assert!(
        err.to_string().contains(&format!("127.0.0.1:{port}")),
        "{err}"
    );
}

#[test]
fn http_proxy_is_used() {
    let body = Arc::new(data(10_000));
    // ureq tunnels through HTTP proxies with CONNECT, for http:// targets too.
    let (proxy, lines) = connect_proxy(body.clone());
    // Nothing listens on port 9: only the proxy can answer.
    let o = FetchOptions {
        proxy: Some(proxy),
        ..opts()
    };
    let out = get_with("http://127.0.0.1:9/via/proxy".into(), o);
    assert_eq!(out.result.unwrap(), body.len() as u64);
    let lines = lines.lock().unwrap();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(lines[0].starts_with("CONNECT 127.0.0.1:9 "), "{lines:?}");
    assert!(lines[1].starts_with("GET /via/proxy "), "{lines:?}");
    let bad = FetchOptions {
        proxy: Some("::not a proxy::".into()),
        ..opts()
    };
    let err = get_with("http://127.0.0.1:9/x".into(), bad)
        .result
        .unwrap_err();
    assert!(matches!(err, FetchError::Proxy { .. }), "{err}");
}

/// A CONNECT proxy answering every tunnelled request with `body`; records the request lines.
fn connect_proxy(body: Arc<Vec<u8>>) -> (String, Arc<Mutex<Vec<String>>>) {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let seen = lines.clone();
    let (url, _) = serve(move |req, s| {
        seen.lock().unwrap().push(req.line.clone());
        if !req.line.starts_with("CONNECT ") {
            return;
        }
        let _ = s.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n");
        if let Some(inner) = read_request(s) {
            seen.lock().unwrap().push(inner.line);
            let _ = s.write_all(head("200 OK", body.len(), "").as_bytes());
            let _ = s.write_all(&body);
        }
    });
    (url, lines)
}

/// Run the kboot CLI with exactly the proxy variables given.
fn kboot_cli(args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_kboot"));
    for v in [
        "http_proxy",
        "HTTP_PROXY",
        "https_proxy",
        "HTTPS_PROXY",
        "all_proxy",
        "ALL_PROXY",
        "no_proxy",
        "NO_PROXY",
    ] {
        c.env_remove(v);
    }
    c.envs(env.iter().copied())
        .args(args)
        .output()
        .expect("run kboot")
}

#[test]
fn cli_fetch_follows_http_proxy_and_no_proxy_from_the_environment() {
    let via_proxy = Arc::new(data(5_000));
    let (proxy, lines) = connect_proxy(via_proxy.clone());
    let direct = Arc::new(data(7_000));
    let (origin, origin_hits) = serve(ranged(direct.clone(), None));
    let dir = tmpdir("proxy-env");
    let out = dir.join("out");
    let out_s = out.to_str().unwrap();

    // http_proxy: nothing listens on port 9, only the proxy can answer.
    let o = kboot_cli(
        &["fetch", "http://127.0.0.1:9/via/env", "-o", out_s],
        &[("http_proxy", &proxy)],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(std::fs::read(&out).unwrap(), *via_proxy);
    {
        let l = lines.lock().unwrap();
        assert_eq!(l.len(), 2, "{l:?}");
        assert!(l[0].starts_with("CONNECT 127.0.0.1:9 "), "{l:?}");
        assert!(l[1].starts_with("GET /via/env "), "{l:?}");
    }

    // NO_PROXY names the host: straight to the origin, the proxy sees nothing.
    let o = kboot_cli(
        &["fetch", &format!("{origin}/direct"), "-o", out_s],
        &[
            ("HTTP_PROXY", &proxy),
            ("NO_PROXY", "localhost, 127.0.0.0/8"),
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(std::fs::read(&out).unwrap(), *direct);
    assert_eq!(origin_hits.load(Ordering::SeqCst), 1);
    assert_eq!(lines.lock().unwrap().len(), 2, "the proxy was not used");

    // https_proxy is for https URLs only: this http fetch goes direct.
    let o = kboot_cli(
        &["fetch", &format!("{origin}/direct"), "-o", out_s],
        &[("https_proxy", "http://127.0.0.1:9")],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(origin_hits.load(Ordering::SeqCst), 2);

    // A proxy kboot cannot use is a clear error naming it (password masked).
    let o = kboot_cli(
        &["fetch", &format!("{origin}/direct"), "-o", out_s],
        &[("http_proxy", "socks5://user:hunter2@127.0.0.1:1080")],
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(
        err.contains("cannot use the proxy socks5://user:***@127.0.0.1:1080: only http:// proxies are supported"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn kboot_conf_proxy_is_on_the_menu() {
    let dir = tmpdir("proxy-conf");
    let conf = dir.join("kboot.conf");
    std::fs::write(
        &conf,
        "proxy=http://192.0.2.9:3128\nlinux='http://192.0.2.1/vmlinuz quiet'\n",
    )
    .unwrap();
    let o = kboot_cli(&["menu", conf.to_str().unwrap(), "--json"], &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let menu: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(menu["proxy"], "http://192.0.2.9:3128");
    assert_eq!(menu["entries"][0]["kernel"], "http://192.0.2.1/vmlinuz");
    std::fs::remove_dir_all(&dir).unwrap();
}

// ---- python3 -m http.server ---------------------------------------------------------------

struct Kill(Child);

impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn tmpdir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("kboot-http-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn python_http_server_32_mib() {
    let python = ["/usr/bin/python3", "python3"]
        .into_iter()
        .find(|p| Command::new(p).arg("--version").output().is_ok())
        .expect("python3 is needed for this test");
    let dir = tmpdir("py");
    let body = data(32 << 20);
    std::fs::write(dir.join("big.img"), &body).unwrap();
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let _server = Kill(
        Command::new(python)
            .args([
                "-m",
                "http.server",
                "--bind",
                "127.0.0.1",
                &port.to_string(),
            ])
            .arg("--directory")
            .arg(&dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "python server did not start"
        );
        thread::sleep(Duration::from_millis(50));
    }
    let o = FetchOptions {
        sha256: Some(sha256_hex(&body)),
        ..opts()
    };
    let out = get_with(format!("http://127.0.0.1:{port}/big.img"), o);
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(out.result.unwrap(), body.len() as u64);
    assert!(out.body == body, "bytes differ");
    assert_eq!(out.progress.last().unwrap().total, Some(32 << 20));
    let err = get(format!("http://127.0.0.1:{port}/missing"))
        .result
        .unwrap_err();
    assert!(matches!(err, FetchError::Http { status: 404, .. }), "{err}");
}

// ---- HTTPS with a test CA -----------------------------------------------------------------

struct Pki {
    ca_pem: String,
    cert_der: Vec<u8>,
    key_der: Vec<u8>,
}

fn make_pki(expired: bool) -> Pki {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair, KeyUsagePurpose};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "kboot test CA");
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let key = KeyPair::generate().unwrap();
    let mut params =
        CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()]).unwrap();
    if expired {
        params.not_before = rcgen::date_time_ymd(2001, 1, 1);
        params.not_after = rcgen::date_time_ymd(2002, 1, 1);
    }
    let issuer = rcgen::Issuer::from_params(&ca_params, &ca_key);
    let cert = params.signed_by(&key, &issuer).unwrap();
    Pki {
        ca_pem: ca.pem(),
        cert_der: cert.der().to_vec(),
        key_der: key.serialize_der(),
    }
}

/// A rustls server on 127.0.0.1 that serves `body` for any path.
fn serve_tls(pki: &Pki, body: Arc<Vec<u8>>) -> String {
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![CertificateDer::from(pki.cert_der.clone())],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(pki.key_der.clone())),
        )
        .unwrap();
    let config = Arc::new(config);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(tcp) = stream else { continue };
            let (config, body) = (config.clone(), body.clone());
            thread::spawn(move || {
                let _ = tcp.set_read_timeout(Some(Duration::from_secs(5)));
                let Ok(conn) = rustls::ServerConnection::new(config) else {
                    return;
                };
                let mut tls = rustls::StreamOwned::new(conn, tcp);
                let mut req = Vec::new();
                let mut byte = [0u8; 1];
                while !req.ends_with(b"\r\n\r\n") {
                    match tls.read(&mut byte) {
                        Ok(1) => req.push(byte[0]),
                        _ => return,
                    }
                }
                let _ = tls.write_all(head("200 OK", body.len(), "").as_bytes());
                let _ = tls.write_all(&body);
                tls.conn.send_close_notify();
                let _ = tls.flush();
            });
        }
    });
    format!("https://127.0.0.1:{port}")
}

#[test]
fn https_with_the_test_ca_given_and_without() {
    let pki = make_pki(false);
    let body = Arc::new(data(200_000));
    let base = serve_tls(&pki, body.clone());
    let dir = tmpdir("tls");
    let ca = dir.join("ca.pem");
    std::fs::write(&ca, &pki.ca_pem).unwrap();

    let o = FetchOptions {
        extra_ca: vec![ca],
        sha256: Some(sha256_hex(&body)),
        ..opts()
    };
    let out = get_with(format!("{base}/vmlinuz"), o);
    assert_eq!(out.result.unwrap(), body.len() as u64);
    assert!(out.body == *body);

    let err = get(format!("{base}/vmlinuz")).result.unwrap_err();
    assert!(matches!(err, FetchError::Tls { .. }), "{err}");
    let msg = err.to_string();
    assert!(
        msg.starts_with("TLS to 127.0.0.1 failed: certificate"),
        "{msg}"
    );
    assert!(msg.contains("unknown authority"), "{msg}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn https_expired_certificate_shows_the_clock() {
    let pki = make_pki(true);
    let base = serve_tls(&pki, Arc::new(data(10)));
    let dir = tmpdir("tls-expired");
    let ca = dir.join("ca.pem");
    std::fs::write(&ca, &pki.ca_pem).unwrap();
    let o = FetchOptions {
        extra_ca: vec![ca],
        ..opts()
    };
    let err = get_with(format!("{base}/k"), o).result.unwrap_err();
    std::fs::remove_dir_all(&dir).unwrap();
    let msg = err.to_string();
    assert!(
        msg.starts_with(
            "TLS to 127.0.0.1 failed: certificate expired (is the clock right? it says 20"
        ),
        "{msg}"
    );
}

/// A tunnelling proxy: answers CONNECT host:port by connecting there and copying both ways.
/// Returns its URL and the CONNECT targets seen.
fn tunnel_proxy() -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut client) = stream else { continue };
            let log = log.clone();
            thread::spawn(move || {
                let Some(req) = read_request(&client) else {
                    return;
                };
                let Some(target) = req.line.strip_prefix("CONNECT ") else {
                    return;
                };
                let target = target.split_whitespace().next().unwrap_or_default();
                log.lock().unwrap().push(target.to_string());
                let Ok(mut upstream) = TcpStream::connect(target) else {
                    let _ = client.write_all(b"HTTP/1.1 502 Bad Gateway\r\n\r\n");
                    return;
                };
                let _ = client.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n");
                let _ = client.set_read_timeout(None);
                let (mut c2, mut u2) = (client.try_clone().unwrap(), upstream.try_clone().unwrap());
                let up = thread::spawn(move || {
                    let _ = std::io::copy(&mut c2, &mut u2);
                    let _ = u2.shutdown(Shutdown::Write);
                });
                let _ = std::io::copy(&mut upstream, &mut client);
                let _ = client.shutdown(Shutdown::Write);
                let _ = up.join();
            });
        }
    });
    (format!("http://127.0.0.1:{port}"), seen)
}

#[test]
fn https_goes_through_an_http_proxy_with_connect() {
    let pki = make_pki(false);
    let body = Arc::new(data(150_000));
    let base = serve_tls(&pki, body.clone());
    let (proxy, seen) = tunnel_proxy();
    let dir = tmpdir("tls-proxy");
    let ca = dir.join("ca.pem");
    std::fs::write(&ca, &pki.ca_pem).unwrap();
    let o = FetchOptions {
        extra_ca: vec![ca],
        proxy: Some(proxy),
        ..opts()
    };
    let out = get_with(format!("{base}/vmlinuz"), o);
    assert_eq!(out.result.unwrap(), body.len() as u64);
    assert!(out.body == *body);
    let target = base.trim_start_matches("https://").to_string();
    assert_eq!(*seen.lock().unwrap(), vec![target]);
    std::fs::remove_dir_all(&dir).unwrap();
}

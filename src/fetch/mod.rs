//! Fetching kernels, initrds and configs by URL.
//!
//! One entry point, [`fetch`], streams a URL into any `Write` with progress and cancellation;
//! [`fetch_to_memfd`] is what booting uses: the bytes land in an anonymous memory file that goes
//! straight to `kexec_file_load`, so no second copy is made.

pub mod http;
pub mod integrity;
pub mod local;
pub mod nfs;
pub mod proxy;
pub mod tftp;
pub mod url;

use std::fs::File;
use std::io::{self, Write};
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Progress of one transfer, reported to the menu.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    /// The URL being fetched.
    pub url: String,
    pub bytes: u64,
    /// Total size when known (TFTP tsize, HTTP Content-Length).
    pub total: Option<u64>,
    /// Bytes per second since the transfer started.
    pub rate: u64,
}

/// Why a fetch failed, as one sentence for the user.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error(transparent)]
    Tftp(#[from] tftp::TftpError),
    #[error(transparent)]
    Url(#[from] url::UrlError),
    #[error(transparent)]
    Local(#[from] local::LocalError),
    #[error(transparent)]
    Nfs(#[from] nfs::NfsError),
    #[error("{url} is larger than the memory available for it ({available_mib} MiB): add RAM or use a smaller initrd")]
    TooLargeForMemory { url: String, available_mib: u64 },
    #[error("the machine ran out of memory while downloading {url} (kernel and initrd together do not fit): add RAM or use a smaller initrd")]
    OutOfMemory { url: String },
    #[error("cannot read {path}: {source}")]
    File { path: String, source: io::Error },
    #[error("{scheme} locations are not supported yet ({url}): use tftp://, http://, https://, nfs://, file:// or a device path such as sda1:/boot/vmlinuz")]
    Unsupported { scheme: String, url: String },
    #[error("cannot find host '{host}' ({source}): check the URL and the DNS server")]
    Resolve { host: String, source: io::Error },
    #[error("{url} has no host name")]
    NoHost { url: String },
    #[error("the download of {url} was cancelled")]
    Cancelled { url: String },
    #[error("{url} is larger than the limit of {limit} bytes")]
    TooLarge { url: String, limit: u64 },
    #[error("cannot store {url} in memory: {source}")]
    Store { url: String, source: io::Error },
    #[error("HTTP {status}{} from {host} for {path}", http::space_before(.reason))]
    Http {
        status: u16,
        reason: String,
        host: String,
        path: String,
    },
    #[error("TLS to {host} failed: {reason}")]
    Tls { host: String, reason: String },
    #[error("cannot fetch {url}: {reason}")]
    Network { url: String, reason: String },
    #[error("the URL {start}... is {len} characters long; kboot sends at most {max}: shorten it")]
    UrlTooLong {
        start: String,
        len: usize,
        max: usize,
    },
    #[error("cannot fetch {url}: {reason}")]
    Timeout { url: String, reason: String },
    #[error("redirect loop: {url} leads back to {at}")]
    RedirectLoop { url: String, at: String },
    #[error("{url} redirects more than {limit} times")]
    TooManyRedirects { url: String, limit: usize },
    #[error("{url} sent a bad redirect: {reason}")]
    BadRedirect { url: String, reason: String },
    #[error("the connection for {url} dropped after {got} bytes and the server ignored the Range request (HTTP 200 instead of 206), so the download cannot resume")]
    RangeIgnored { url: String, got: u64 },
    #[error(
        "{url} answered a Range request from byte {got} with the wrong Content-Range '{range}'"
    )]
    BadRange {
        url: String,
        got: u64,
        range: String,
    },
    #[error("{url} truncated: got {got} of {expected} bytes ({cause})")]
    Truncated {
        url: String,
        got: u64,
        expected: u64,
        cause: String,
    },
    #[error("{url} sent more than its Content-Length of {expected} bytes")]
    TooLong { url: String, expected: u64 },
    #[error("cannot use the proxy {proxy}: {reason}")]
    Proxy { proxy: String, reason: String },
    #[error("cannot load CA certificates from {path}: {reason}")]
    Ca { path: String, reason: String },
    #[error("'{value}' is not a SHA-256 digest: {reason} (expected 64 hex characters)")]
    BadSha256 { value: String, reason: String },
    #[error("SHA-256 mismatch: expected {expected}, got {actual}")]
    Sha256Mismatch { expected: String, actual: String },
}

/// Knobs for one fetch.
#[derive(Debug, Clone, Default)]
pub struct FetchOptions {
    pub tftp: tftp::TftpOptions,
    /// Stop with an error past this many bytes. `None`: what fits in RAM, i.e. MemAvailable
    /// from /proc/meminfo at the start of the fetch minus [`MEMORY_RESERVE`] (no limit when
    /// /proc/meminfo cannot be read).
    pub max_size: Option<u64>,
    /// PEM files of CA certificates trusted for HTTPS besides the built-in Mozilla roots
    /// (`/etc/ssl/certs/kboot-extra.pem` is added when it exists).
    pub extra_ca: Vec<PathBuf>,
    /// HTTP(S) proxy for http/https URLs, e.g. `http://10.0.2.2:3128`.
    pub proxy: Option<String>,
    /// Expected SHA-256 of the content (64 hex characters), checked for any scheme.
    pub sha256: Option<String>,
    /// Expected SHA-256 per URL (from a config's `kboot.sha256.*` keys), for fetches of
    /// several URLs with one set of options; `sha256` wins when both are set.
    pub sha256_by_url: std::collections::BTreeMap<String, String>,
    /// HTTP connect timeout (default [`http::DEFAULT_CONNECT_TIMEOUT`]).
    pub connect_timeout: Option<Duration>,
    /// HTTP idle timeout: longest wait for the next bytes (default
    /// [`http::DEFAULT_IDLE_TIMEOUT`]).
    pub idle_timeout: Option<Duration>,
}

/// Stream `url` into `sink`. Returns the number of bytes written.
pub fn fetch(
    url: &str,
    sink: &mut dyn Write,
    opts: &FetchOptions,
    progress: &mut dyn FnMut(&Progress),
    cancel: &AtomicBool,
) -> Result<u64, FetchError> {
    if let Some(expected) = opts.sha256.as_ref().or(opts.sha256_by_url.get(url)) {
        integrity::parse_sha256(expected)?;
        let mut hashing = integrity::Sha256Writer::new(sink);
        let inner = FetchOptions {
            sha256: None,
            sha256_by_url: Default::default(),
            ..opts.clone()
        };
        let n = fetch(url, &mut hashing, &inner, progress, cancel)?;
        integrity::verify_sha256(expected, hashing.finish().0)?;
        return Ok(n);
    }
    if opts.max_size.is_none() {
        if let Some(limit) = memory_limit() {
            let inner = FetchOptions {
                max_size: Some(limit),
                ..opts.clone()
            };
            return fetch(url, sink, &inner, progress, cancel).map_err(|e| match e {
                FetchError::TooLarge { .. }
                | FetchError::Tftp(tftp::TftpError::TooLarge { .. }) => {
                    FetchError::TooLargeForMemory {
                        url: url.to_string(),
                        available_mib: limit >> 20,
                    }
                }
                other => other,
            });
        }
    }
    let location = url::parse_location(url)?;
    let started = Instant::now();
    let mut report = |bytes: u64, total: Option<u64>| {
        let secs = started.elapsed().as_secs_f64();
        let rate = if secs > 0.0 {
            (bytes as f64 / secs) as u64
        } else {
            0
        };
        progress(&Progress {
            url: url.to_string(),
            bytes,
            total,
            rate,
        });
    };
    if cancel.load(Ordering::Relaxed) {
        return Err(FetchError::Cancelled {
            url: url.to_string(),
        });
    }
    let parsed = match location {
        url::Location::Url(u) => u,
        url::Location::Device { device, path } => {
            let mount = local::mount_device(&device)?;
            let name = device.to_string();
            let (mut file, total) = local::open_in(&mount, &name, &path)?;
            let n = copy_with_progress(
                &mut file,
                sink,
                url,
                total,
                opts.max_size,
                &mut report,
                cancel,
            )
            .map_err(|e| match e {
                CopyError::Read(source) => FetchError::File {
                    path: format!("{name}:{path}"),
                    source,
                },
                CopyError::Other(e) => e,
            })?;
            drop(file);
            drop(mount);
            return Ok(n);
        }
    };
    match parsed.scheme() {
        "tftp" => {
            let host =
                parsed
                    .host_str()
                    .filter(|h| !h.is_empty())
                    .ok_or_else(|| FetchError::NoHost {
                        url: url.to_string(),
                    })?;
            let server = resolve(
                host.trim_start_matches('[').trim_end_matches(']'),
                parsed.port().unwrap_or(69),
            )?;
            let path = percent_decode(parsed.path());
            let mut topts = opts.tftp.clone();
            if opts.max_size.is_some() {
                topts.max_size = opts.max_size;
            }
            let n =
                tftp::download(server, &path, &topts, sink, &mut report, cancel).map_err(|e| {
                    match e {
                        tftp::TftpError::Cancelled { .. } => FetchError::Cancelled {
                            url: url.to_string(),
                        },
                        other => FetchError::Tftp(other),
                    }
                })?;
            Ok(n)
        }
        "http" | "https" => http::download(&parsed, sink, opts, &mut report, cancel),
        "file" => {
            let path = percent_decode(parsed.path());
            let mut file = File::open(&path).map_err(|source| FetchError::File {
                path: path.clone(),
                source,
            })?;
            let total = file.metadata().ok().map(|m| m.len());
            copy_with_progress(
                &mut file,
                sink,
                url,
                total,
                opts.max_size,
                &mut report,
                cancel,
            )
            .map_err(|e| match e {
                CopyError::Read(source) => FetchError::File { path, source },
                CopyError::Other(e) => e,
            })
        }
        "nfs" => {
            let host = parsed.host_str().unwrap_or_default();
            let path = percent_decode(parsed.path());
            let (mount, file_path) = nfs::mount_for(url, host, parsed.port(), &path)?;
            let full = mount.dir().join(&file_path);
            let shown = format!("{file_path} on {host}");
            let mut file = File::open(&full).map_err(|source| FetchError::File {
                path: shown.clone(),
                source,
            })?;
            let total = file.metadata().ok().map(|m| m.len());
            let n = copy_with_progress(
                &mut file,
                sink,
                url,
                total,
                opts.max_size,
                &mut report,
                cancel,
            )
            .map_err(|e| match e {
                CopyError::Read(source) => FetchError::File {
                    path: shown,
                    source,
                },
                CopyError::Other(e) => e,
            })?;
            drop(file);
            drop(mount);
            Ok(n)
        }
        other => Err(FetchError::Unsupported {
            scheme: format!("{other}://"),
            url: url.to_string(),
        }),
    }
}

/// Kept free when the size limit comes from the free memory: the kernel, kboot and the
/// kexec staging need some.
pub const MEMORY_RESERVE: u64 = 64 << 20;

/// The default size limit: MemAvailable minus [`MEMORY_RESERVE`] (at least 1 MiB), or `None`
/// when /proc/meminfo cannot be read.
pub fn memory_limit() -> Option<u64> {
    let available = crate::meminfo::available()?;
    Some(available.saturating_sub(MEMORY_RESERVE).max(1 << 20))
}

enum CopyError {
    Read(io::Error),
    Other(FetchError),
}

fn copy_with_progress(
    src: &mut dyn io::Read,
    sink: &mut dyn Write,
    url: &str,
    total: Option<u64>,
    limit: Option<u64>,
    report: &mut dyn FnMut(u64, Option<u64>),
    cancel: &AtomicBool,
) -> Result<u64, CopyError> {
    let mut buf = vec![0u8; 256 * 1024];
    let mut done = 0u64;
    let mut last_report = Instant::now();
    loop {
        if cancel.load(Ordering::Relaxed) {
            return Err(CopyError::Other(FetchError::Cancelled {
                url: url.to_string(),
            }));
        }
        let n = match src.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(CopyError::Read(e)),
        };
        done += n as u64;
        if let Some(limit) = limit.filter(|l| done > *l) {
            return Err(CopyError::Other(FetchError::TooLarge {
                url: url.to_string(),
                limit,
            }));
        }
        sink.write_all(&buf[..n]).map_err(|source| {
            CopyError::Other(FetchError::Store {
                url: url.to_string(),
                source,
            })
        })?;
        if last_report.elapsed().as_millis() >= 100 {
            report(done, total);
            last_report = Instant::now();
        }
    }
    report(done, total);
    Ok(done)
}

fn resolve(host: &str, port: u16) -> Result<SocketAddr, FetchError> {
    let mut addrs = (host, port)
        .to_socket_addrs()
        .map_err(|source| FetchError::Resolve {
            host: host.to_string(),
            source,
        })?;
    addrs.next().ok_or_else(|| FetchError::Resolve {
        host: host.to_string(),
        source: io::Error::new(io::ErrorKind::NotFound, "no address"),
    })
}

/// `%20` -> ` ` in a URL path (invalid escapes are kept as they are).
fn percent_decode(path: &str) -> String {
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = |c: u8| (c as char).to_digit(16);
            if let (Some(hi), Some(lo)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((hi * 16 + lo) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Fetch a small text file (a config) into memory, at most `limit` bytes.
pub fn fetch_text(url: &str, limit: u64, cancel: &AtomicBool) -> Result<String, FetchError> {
    let mut buf = Vec::new();
    let opts = FetchOptions {
        max_size: Some(limit),
        ..FetchOptions::default()
    };
    fetch(url, &mut buf, &opts, &mut |_| {}, cancel)?;
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

/// Buffer in front of a file or memfd: it gathers TFTP's small blocks into fewer writes, and is
/// no bigger than an HTTP read so that those go straight through without another copy.
pub const SINK_BUFFER: usize = 64 * 1024;

/// An anonymous in-memory file (memfd) to receive a kernel or initrd.
pub fn memfd(name: &str) -> io::Result<File> {
    let fd = nix::sys::memfd::memfd_create(name, nix::sys::memfd::MFdFlags::MFD_CLOEXEC)
        .map_err(io::Error::from)?;
    Ok(File::from(fd))
}

/// A memfd holding `bytes`, positioned at its start (tests of code that takes fetched files).
#[cfg(test)]
pub(crate) fn memfd_with(bytes: &[u8]) -> File {
    use std::io::{Seek, Write};
    let mut f = memfd("test").unwrap();
    f.write_all(bytes).unwrap();
    f.rewind().unwrap();
    f
}

/// Fetch each URL in order into one memfd (initrds are concatenated, as the kernel allows).
pub fn fetch_to_memfd(
    name: &str,
    urls: &[String],
    opts: &FetchOptions,
    progress: &mut dyn FnMut(&Progress),
    cancel: &AtomicBool,
) -> Result<File, FetchError> {
    fetch_parts(name, urls, opts, progress, cancel, false).map(|(file, _)| file)
}

/// One file of a [`fetch_summed`] memfd: where its bytes are and their SHA-256.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    pub url: String,
    /// Where the file starts in the memfd (after the padding that aligns it to 4 bytes).
    pub offset: u64,
    pub len: u64,
    /// The SHA-256 of the file's bytes: the config's pin when it has one (the fetch checked
    /// the bytes against it), else computed while the bytes streamed in.
    pub sha256: [u8; 32],
}

/// [`fetch_to_memfd`], and each file's place and SHA-256, hashed as the bytes arrive: what the
/// boot verifies and measures without reading the files again.
pub fn fetch_summed(
    name: &str,
    urls: &[String],
    opts: &FetchOptions,
    progress: &mut dyn FnMut(&Progress),
    cancel: &AtomicBool,
) -> Result<(File, Vec<Part>), FetchError> {
    fetch_parts(name, urls, opts, progress, cancel, true)
}

fn fetch_parts(
    name: &str,
    urls: &[String],
    opts: &FetchOptions,
    progress: &mut dyn FnMut(&Progress),
    cancel: &AtomicBool,
    summed: bool,
) -> Result<(File, Vec<Part>), FetchError> {
    let first = urls.first().cloned().unwrap_or_default();
    let file = memfd(name).map_err(|source| FetchError::Store { url: first, source })?;
    // Bounded by free memory (the default): watch it while writing, so that parallel
    // downloads (kernel and initrd, each allowed what was free when it started) stop with an
    // error before the machine runs out (PID 1 cannot be OOM-killed: the kernel would panic).
    let free = opts.max_size.is_none().then_some(crate::meminfo::available);
    let guard = MemoryGuard::new(&file, free);
    let mut writer = io::BufWriter::with_capacity(SINK_BUFFER, guard);
    let mut parts = Vec::new();
    for (i, url) in urls.iter().enumerate() {
        let store = |source| FetchError::Store {
            url: url.clone(),
            source,
        };
        if i > 0 {
            // Pad to 4 bytes so the next cpio segment starts aligned.
            let len = writer.stream_position_hint().map_err(store)?;
            let pad = (4 - (len % 4) as usize) % 4;
            writer.write_all(&[0u8; 3][..pad]).map_err(store)?;
        }
        if !summed {
            fetch(url, &mut writer, opts, progress, cancel).map_err(|e| out_of_memory(e, url))?;
            continue;
        }
        let offset = writer.stream_position_hint().map_err(store)?;
        let sha256 = match opts.sha256.as_ref().or(opts.sha256_by_url.get(url)) {
            // The fetch checks the bytes against the pin: that digest is the file's.
            Some(hex) => {
                let digest = integrity::parse_sha256(hex)?;
                fetch(url, &mut writer, opts, progress, cancel)
                    .map_err(|e| out_of_memory(e, url))?;
                digest
            }
            None => {
                let mut hashing = integrity::Sha256Writer::new(&mut writer);
                fetch(url, &mut hashing, opts, progress, cancel)
                    .map_err(|e| out_of_memory(e, url))?;
                hashing.finish().0
            }
        };
        let end = writer.stream_position_hint().map_err(store)?;
        parts.push(Part {
            url: url.clone(),
            offset,
            len: end - offset,
            sha256,
        });
    }
    writer
        .flush()
        .map_err(|source| FetchError::Store {
            url: first_or(urls),
            source,
        })
        .map_err(|e| out_of_memory(e, &first_or(urls)))?;
    drop(writer);
    Ok((file, parts))
}

/// A [`MemoryGuard`] stop, as the sentence for a file too big for the memory.
fn out_of_memory(e: FetchError, url: &str) -> FetchError {
    match e {
        FetchError::Store { source, .. }
        | FetchError::Tftp(tftp::TftpError::Write { source, .. })
            if source.kind() == io::ErrorKind::OutOfMemory =>
        {
            FetchError::OutOfMemory {
                url: url.to_string(),
            }
        }
        other => other,
    }
}

/// Writes to a memfd, and every [`MemoryGuard::EVERY`] bytes asks how much memory is still
/// free: below half of [`MEMORY_RESERVE`] the write fails (ErrorKind::OutOfMemory).
struct MemoryGuard<'a, F: Fn() -> Option<u64>> {
    file: &'a File,
    free: Option<F>,
    since_check: u64,
}

impl<'a, F: Fn() -> Option<u64>> MemoryGuard<'a, F> {
    const EVERY: u64 = 4 << 20;

    fn new(file: &'a File, free: Option<F>) -> Self {
        MemoryGuard {
            file,
            free,
            since_check: 0,
        }
    }
}

impl<F: Fn() -> Option<u64>> Write for MemoryGuard<'_, F> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if let Some(free) = &self.free {
            if self.since_check >= Self::EVERY {
                self.since_check = 0;
                if free().is_some_and(|f| f < MEMORY_RESERVE / 2) {
                    return Err(io::Error::new(
                        io::ErrorKind::OutOfMemory,
                        "the machine is running out of memory",
                    ));
                }
            }
        }
        let n = self.file.write(buf)?;
        self.since_check += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn first_or(urls: &[String]) -> String {
    urls.first().cloned().unwrap_or_default()
}

/// Position of a buffered writer over a file: flushes, then asks the file.
trait StreamPositionHint {
    fn stream_position_hint(&mut self) -> io::Result<u64>;
}

impl<F: Fn() -> Option<u64>> StreamPositionHint for io::BufWriter<MemoryGuard<'_, F>> {
    fn stream_position_hint(&mut self) -> io::Result<u64> {
        self.flush()?;
        use std::io::Seek;
        let mut f: &File = self.get_ref().file;
        f.stream_position()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_memory_guard_stops_writes_when_memory_runs_low() {
        use std::cell::Cell;
        let file = memfd("guard").unwrap();
        let free = Cell::new(1u64 << 30);
        let mut guard = MemoryGuard::new(&file, Some(|| Some(free.get())));
        let chunk = vec![0u8; 1 << 20];
        for _ in 0..8 {
            guard.write_all(&chunk).unwrap();
        }
        free.set(MEMORY_RESERVE / 2 - 1);
        // The next check (at most EVERY bytes later) refuses.
        let mut refused = None;
        for i in 0..8 {
            if let Err(e) = guard.write_all(&chunk) {
                refused = Some((i, e.kind()));
                break;
            }
        }
        let (i, kind) = refused.expect("never refused");
        assert!(i < 5, "checked every 4 MiB");
        assert_eq!(kind, io::ErrorKind::OutOfMemory);
        // The sentence the user reads.
        let e = out_of_memory(
            FetchError::Store {
                url: "u".into(),
                source: io::Error::from(kind),
            },
            "http://h/initrd",
        );
        assert!(matches!(e, FetchError::OutOfMemory { .. }), "{e}");
        // Unbounded (an explicit max_size): no checks.
        let mut guard = MemoryGuard::new(&file, None::<fn() -> Option<u64>>);
        for _ in 0..8 {
            guard.write_all(&chunk).unwrap();
        }
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("/a%20b/c"), "/a b/c");
        assert_eq!(percent_decode("/bad%zz%4"), "/bad%zz%4");
        assert_eq!(percent_decode("%"), "%");
        assert_eq!(percent_decode("/%e2%82%ac"), "/€");
    }

    #[test]
    fn file_urls_stream_into_a_memfd_with_alignment() {
        let dir = std::env::temp_dir().join(format!("kboot-fetch-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("a"), b"12345").unwrap();
        std::fs::write(dir.join("b"), b"xy").unwrap();
        let urls: Vec<String> = ["a", "b"]
            .iter()
            .map(|n| format!("file://{}/{n}", dir.display()))
            .collect();
        let cancel = AtomicBool::new(false);
        let mut seen = Vec::new();
        let file = fetch_to_memfd(
            "t",
            &urls,
            &FetchOptions::default(),
            &mut |p| seen.push(p.clone()),
            &cancel,
        )
        .unwrap();
        let data = std::fs::read(format!(
            "/proc/self/fd/{}",
            std::os::fd::AsRawFd::as_raw_fd(&file)
        ))
        .unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(data, b"12345\0\0\0xy");
        assert_eq!(seen.last().unwrap().bytes, 2);
        assert_eq!(seen.last().unwrap().total, Some(2));
    }

    #[test]
    fn each_file_gets_its_place_and_digest_while_streaming() {
        let dir = std::env::temp_dir().join(format!("kboot-summed-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("a"), b"abc").unwrap();
        std::fs::write(dir.join("b"), b"xy").unwrap();
        let urls: Vec<String> = ["a", "b"]
            .iter()
            .map(|n| format!("file://{}/{n}", dir.display()))
            .collect();
        // "b" pinned (to its real digest): the pin is its digest, not hashed again.
        let sha_xy = "769a4e6d0003189c7e96c5d9b7e810a0d11c3a12832527ec94b0f86d277f51ca";
        let mut opts = FetchOptions::default();
        opts.sha256_by_url.insert(urls[1].clone(), sha_xy.into());
        let cancel = AtomicBool::new(false);
        let (file, parts) = fetch_summed("t", &urls, &opts, &mut |_| {}, &cancel).unwrap();
        let data = std::fs::read(format!(
            "/proc/self/fd/{}",
            std::os::fd::AsRawFd::as_raw_fd(&file)
        ))
        .unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(data, b"abc\0xy");
        assert_eq!(parts.len(), 2);
        assert_eq!((parts[0].offset, parts[0].len), (0, 3));
        assert_eq!((parts[1].offset, parts[1].len), (4, 2));
        // SHA-256("abc")
        assert_eq!(
            integrity::to_hex(&parts[0].sha256),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(integrity::to_hex(&parts[1].sha256), sha_xy);
        assert_eq!(parts[1].url, urls[1]);
    }

    #[test]
    fn per_url_digests_are_checked_while_streaming() {
        let dir = std::env::temp_dir().join(format!("kboot-sha-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("a"), b"abc").unwrap();
        let url = format!("file://{}/a", dir.display());
        // SHA-256("abc")
        let good = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        let mut opts = FetchOptions::default();
        opts.sha256_by_url.insert(url.clone(), good.into());
        let cancel = AtomicBool::new(false);
        let ok = fetch_to_memfd("t", std::slice::from_ref(&url), &opts, &mut |_| {}, &cancel);
        opts.sha256_by_url.insert(url.clone(), "0".repeat(64));
        let bad = fetch_to_memfd("t", std::slice::from_ref(&url), &opts, &mut |_| {}, &cancel);
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(ok.is_ok(), "{:?}", ok.err());
        let err = bad.unwrap_err().to_string();
        assert!(
            err.contains("SHA-256 mismatch") && err.contains(good),
            "{err}"
        );
    }

    #[test]
    fn missing_files_unknown_schemes_and_limits_are_errors() {
        let cancel = AtomicBool::new(false);
        let err = fetch_text("file:///nonexistent/kboot.conf", 10, &cancel).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/kboot.conf"), "{err}");
        let err = fetch_text("ftp://127.0.0.1:9/y", 10, &cancel).unwrap_err();
        assert!(matches!(err, FetchError::Unsupported { .. }), "{err}");
        let err = fetch_text("file:///proc/self/status", 10, &cancel).unwrap_err();
        assert!(matches!(err, FetchError::TooLarge { .. }), "{err}");
        cancel.store(true, Ordering::Relaxed);
        let err = fetch_text("file:///etc/hostname", 10, &cancel).unwrap_err();
        assert!(matches!(err, FetchError::Cancelled { .. }), "{err}");
    }

    #[test]
    fn the_memory_limit_leaves_a_reserve() {
        let limit = memory_limit().expect("/proc/meminfo is readable here");
        assert!(limit >= 1 << 20);
    }

    #[test]
    fn the_default_limit_is_the_free_memory() {
        let err = FetchError::TooLargeForMemory {
            url: "tftp://10.0.2.2/initrd.img".into(),
            available_mib: 180,
        };
        assert_eq!(
            err.to_string(),
            "tftp://10.0.2.2/initrd.img is larger than the memory available for it (180 MiB): add RAM or use a smaller initrd"
        );
        // A file under the limit passes with max_size None (the limit is computed).
        let cancel = AtomicBool::new(false);
        let mut out = Vec::new();
        fetch(
            "file:///proc/self/status",
            &mut out,
            &FetchOptions::default(),
            &mut |_| {},
            &cancel,
        )
        .unwrap();
        assert!(!out.is_empty());
    }

    #[test]
    fn device_paths_name_the_missing_device() {
        let cancel = AtomicBool::new(false);
        let err = fetch_text("kbootnodev0:/vmlinuz", 10, &cancel).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the device /dev/kbootnodev0 does not exist"
        );
        let err = fetch_text("LABEL=kboot-no-such-label:/vmlinuz", 10, &cancel).unwrap_err();
        assert!(
            err.to_string()
                .contains("no block device has LABEL=kboot-no-such-label"),
            "{err}"
        );
    }
}

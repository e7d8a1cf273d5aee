//! HTTP and HTTPS downloads (ureq 3 over rustls + ring, Mozilla roots plus site CAs).
//!
//! What this adds on top of ureq:
//! - the body streams into the sink in 64 KiB reads, never whole in memory;
//! - redirects are followed here (up to [`MAX_REDIRECTS`]) so a loop names the URL;
//! - a connection that drops mid-body is resumed with `Range: bytes=N-` (up to
//!   [`MAX_RESUMES`] times); a server that answers 200 instead of 206 cannot be resumed into a
//!   stream that was already written, and says so;
//! - Content-Length is enforced both ways: short is "truncated: got N of M bytes", and bytes
//!   left over after the declared length are an error too (seen through [`Leftover`]);
//! - TLS failures name the host and the reason, with the clock shown for validity errors;
//! - extra CA certificates (PEM) are trusted *in addition to* the built-in Mozilla roots, which
//!   ureq's own connector cannot do, hence the small [`TlsConnector`] below.

use std::fmt;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{CertificateError, ClientConfig, ClientConnection, RootCertStore, StreamOwned};
use ureq::unversioned::resolver::DefaultResolver;
use ureq::unversioned::transport::{
    Buffers, ConnectProxyConnector, ConnectionDetails, Connector, Either, LazyBuffers, NextTimeout,
    TcpConnector, Transport, TransportAdapter,
};
use ureq::Agent;

use super::{FetchError, FetchOptions};

/// Redirects followed before giving up.
pub const MAX_REDIRECTS: usize = 10;
/// Times a dropped transfer is resumed with a Range request.
pub const MAX_RESUMES: u32 = 3;
/// Connect timeout when [`FetchOptions::connect_timeout`] is not set.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
/// Idle (per read) timeout when [`FetchOptions::idle_timeout`] is not set.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(30);
/// Site CAs baked into the image, trusted when present.
pub const SYSTEM_EXTRA_CA: &str = "/etc/ssl/certs/kboot-extra.pem";

const USER_AGENT: &str = concat!("kboot/", env!("CARGO_PKG_VERSION"));

/// Download `url` (http or https) into `sink`; `report(bytes, total)` gets progress.
pub fn download(
    url: &url::Url,
    sink: &mut dyn Write,
    opts: &FetchOptions,
    report: &mut dyn FnMut(u64, Option<u64>),
    cancel: &AtomicBool,
) -> Result<u64, FetchError> {
    let mut cas = opts.extra_ca.clone();
    if Path::new(SYSTEM_EXTRA_CA).exists() {
        cas.push(PathBuf::from(SYSTEM_EXTRA_CA));
    }
    // No proxy named for this fetch: the process default (kboot.proxy=, or the environment).
    let with_default;
    let opts = match opts.proxy {
        None => match super::proxy::default_for(url) {
            Some(p) => {
                with_default = FetchOptions {
                    proxy: Some(p),
                    ..opts.clone()
                };
                &with_default
            }
            None => opts,
        },
        Some(_) => opts,
    };
    let client = Client::new(opts, &cas)?;
    client.download(url, sink, opts.max_size, report, cancel)
}

struct Client {
    agent: Agent,
    leftover: Arc<AtomicU64>,
    connect_timeout: Duration,
    idle_timeout: Duration,
}

/// Where a transfer stands.
struct Transfer<'a> {
    /// The URL after redirects: resumes go straight there.
    url: url::Url,
    original: &'a str,
    got: u64,
    total: Option<u64>,
    limit: Option<u64>,
}

/// ureq's output buffer: the request line and headers of a GET (or a proxy CONNECT).
const OUTPUT_BUFFER: usize = 32 * 1024;
/// The longest URL sent: the buffer less room for the other headers (a proxy's credentials).
pub const MAX_URL: usize = OUTPUT_BUFFER - 4096;

impl Client {
    fn new(opts: &FetchOptions, cas: &[PathBuf]) -> Result<Self, FetchError> {
        let connect_timeout = opts.connect_timeout.unwrap_or(DEFAULT_CONNECT_TIMEOUT);
        let idle_timeout = opts.idle_timeout.unwrap_or(DEFAULT_IDLE_TIMEOUT);
        let proxy = match opts.proxy.as_deref().filter(|p| !p.is_empty()) {
            Some(p) => Some(proxy_of(p)?),
            None => None,
        };
        let config = Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .proxy(proxy)
            .user_agent(USER_AGENT)
            .timeout_connect(Some(connect_timeout))
            .timeout_per_read(Some(idle_timeout))
            .timeout_per_write(Some(idle_timeout))
            .max_idle_connections(0)
            // Only a GET's request head goes out; ureq zero-fills this buffer on every
            // connection, and its 128 KiB default was a third of a small fetch's instructions.
            .output_buffer_size(OUTPUT_BUFFER)
            .build();
        let leftover = Arc::new(AtomicU64::new(0));
        let connector = ()
            .chain(ConnectProxyConnector::default())
            .chain(TcpConnector::default())
            .chain(TlsConnector {
                config: Arc::new(tls_config(cas)?),
            })
            .chain(LeftoverConnector {
                leftover: leftover.clone(),
            });
        let agent = Agent::with_parts(config, connector, DefaultResolver::default());
        Ok(Self {
            agent,
            leftover,
            connect_timeout,
            idle_timeout,
        })
    }

    fn download(
        &self,
        url: &url::Url,
        sink: &mut dyn Write,
        limit: Option<u64>,
        report: &mut dyn FnMut(u64, Option<u64>),
        cancel: &AtomicBool,
    ) -> Result<u64, FetchError> {
        let mut t = Transfer {
            url: url.clone(),
            original: url.as_str(),
            got: 0,
            total: None,
            limit,
        };
        let mut resumes = 0;
        let mut last_report = Instant::now();
        // At least as big as ureq's input buffer (128 KiB): each read empties it, so ureq does
        // not move a remainder to its front, and every write to the sink is big enough to
        // bypass the sink's buffer (super::SINK_BUFFER).
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            check_cancel(&t, cancel)?;
            let body = if t.got == 0 && resumes == 0 {
                self.first_response(&mut t)?
            } else {
                self.resumed_response(&mut t)?
            };
            let mut reader = body.into_reader();
            let failure = loop {
                check_cancel(&t, cancel)?;
                let n = match reader.read(&mut buf) {
                    Ok(0) => break None,
                    Ok(n) => n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => break Some(e),
                };
                if let Some(total) = t.total.filter(|total| t.got + n as u64 > *total) {
                    return Err(FetchError::TooLong {
                        url: t.original.to_string(),
                        expected: total,
                    });
                }
                t.got += n as u64;
                if let Some(limit) = t.limit.filter(|l| t.got > *l) {
                    return Err(FetchError::TooLarge {
                        url: t.original.to_string(),
                        limit,
                    });
                }
                sink.write_all(&buf[..n])
                    .map_err(|source| FetchError::Store {
                        url: t.original.to_string(),
                        source,
                    })?;
                if last_report.elapsed() >= Duration::from_millis(100) {
                    report(t.got, t.total);
                    last_report = Instant::now();
                }
            };
            drop(reader);
            match failure {
                None => {
                    if let Some(total) = t.total.filter(|total| t.got < *total) {
                        // ureq reports a short Content-Length body as an error; this is a guard.
                        return Err(FetchError::Truncated {
                            url: t.original.to_string(),
                            got: t.got,
                            expected: total,
                            cause: "the server ended the body early".into(),
                        });
                    }
                    if let Some(total) = t.total {
                        if self.leftover.load(Ordering::Relaxed) > 0 {
                            return Err(FetchError::TooLong {
                                url: t.original.to_string(),
                                expected: total,
                            });
                        }
                    }
                    report(t.got, t.total);
                    return Ok(t.got);
                }
                Some(err) => {
                    let err = self.map_io(&t.url, err);
                    if resumes >= MAX_RESUMES {
                        return Err(match t.total {
                            Some(total) => FetchError::Truncated {
                                url: t.original.to_string(),
                                got: t.got,
                                expected: total,
                                cause: err.to_string(),
                            },
                            None => err,
                        });
                    }
                    resumes += 1;
                    report(t.got, t.total);
                }
            }
        }
    }

    /// GET with redirects followed; sets the final URL and the total.
    fn first_response(&self, t: &mut Transfer) -> Result<ureq::Body, FetchError> {
        let mut seen = vec![t.url.clone()];
        loop {
            let resp = self.get(&t.url, None)?;
            let status = resp.status().as_u16();
            if matches!(status, 301 | 302 | 303 | 307 | 308) {
                let location = resp
                    .headers()
                    .get("location")
                    .and_then(|v| v.to_str().ok())
                    .ok_or_else(|| FetchError::BadRedirect {
                        url: t.url.to_string(),
                        reason: format!("HTTP {status} without a usable Location header"),
                    })?;
                let next = t.url.join(location).map_err(|e| FetchError::BadRedirect {
                    url: t.url.to_string(),
                    reason: format!("Location '{location}' is not a URL ({e})"),
                })?;
                if !matches!(next.scheme(), "http" | "https") {
                    return Err(FetchError::BadRedirect {
                        url: t.url.to_string(),
                        reason: format!("it points to '{next}', which is not http or https"),
                    });
                }
                if seen.contains(&next) {
                    return Err(FetchError::RedirectLoop {
                        url: t.original.to_string(),
                        at: next.to_string(),
                    });
                }
                if seen.len() > MAX_REDIRECTS {
                    return Err(FetchError::TooManyRedirects {
                        url: t.original.to_string(),
                        limit: MAX_REDIRECTS,
                    });
                }
                seen.push(next.clone());
                t.url = next;
                continue;
            }
            if !(200..300).contains(&status) || status == 206 {
                return Err(status_error(&t.url, status));
            }
            t.total = content_length(&resp);
            if let (Some(total), Some(limit)) = (t.total, t.limit) {
                if total > limit {
                    return Err(FetchError::TooLarge {
                        url: t.original.to_string(),
                        limit,
                    });
                }
            }
            return Ok(resp.into_body());
        }
    }

    /// GET the rest of the file with a Range request.
    fn resumed_response(&self, t: &mut Transfer) -> Result<ureq::Body, FetchError> {
        let resp = self.get(&t.url, Some(t.got))?;
        let status = resp.status().as_u16();
        if status == 200 {
            if t.got == 0 {
                // Nothing written yet: starting over is a resume too.
                if t.total.is_none() {
                    t.total = content_length(&resp);
                }
                return Ok(resp.into_body());
            }
            return Err(FetchError::RangeIgnored {
                url: t.original.to_string(),
                got: t.got,
            });
        }
        if status != 206 {
            return Err(status_error(&t.url, status));
        }
        let range = resp
            .headers()
            .get("content-range")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        match parse_content_range(range) {
            Some((start, _end, total))
                if start == t.got && (t.total.is_none() || total.is_none() || t.total == total) =>
            {
                if t.total.is_none() {
                    t.total = total;
                }
                Ok(resp.into_body())
            }
            _ => Err(FetchError::BadRange {
                url: t.original.to_string(),
                got: t.got,
                range: range.to_string(),
            }),
        }
    }

    fn get(
        &self,
        url: &url::Url,
        from: Option<u64>,
    ) -> Result<ureq::http::Response<ureq::Body>, FetchError> {
        self.leftover.store(0, Ordering::Relaxed);
        // The request head (URL, host, a few headers) must fit ureq's output buffer.
        if url.as_str().len() > MAX_URL {
            return Err(FetchError::UrlTooLong {
                start: url.as_str().chars().take(60).collect(),
                len: url.as_str().len(),
                max: MAX_URL,
            });
        }
        let mut req = self
            .agent
            .get(url.as_str())
            // One request per connection: what follows a body on the wire is then an error.
            .header("Connection", "close")
            .header("Accept-Encoding", "identity");
        if let Some(from) = from {
            req = req.header("Range", format!("bytes={from}-"));
        }
        req.call().map_err(|e| self.map_ureq(url, e))
    }

    fn map_io(&self, url: &url::Url, err: io::Error) -> FetchError {
        if err.get_ref().is_some_and(|e| e.is::<ureq::Error>()) {
            if let Some(inner) = err.into_inner() {
                if let Ok(e) = inner.downcast::<ureq::Error>() {
                    return self.map_ureq(url, *e);
                }
            }
            return network(url, "unknown error".into());
        }
        self.map_ureq(url, ureq::Error::Io(err))
    }

    fn map_ureq(&self, url: &url::Url, err: ureq::Error) -> FetchError {
        let host = host_of(url);
        match err {
            ureq::Error::Timeout(which) => {
                let reason = match which {
                    ureq::Timeout::Connect => format!(
                        "connecting to {host} timed out after {}",
                        secs(self.connect_timeout)
                    ),
                    ureq::Timeout::Resolve => format!("looking up {host} timed out"),
                    _ => format!(
                        "{host} sent nothing for {} (idle timeout)",
                        secs(self.idle_timeout)
                    ),
                };
                FetchError::Timeout {
                    url: url.to_string(),
                    reason,
                }
            }
            ureq::Error::HostNotFound => FetchError::Resolve {
                host,
                source: io::Error::new(io::ErrorKind::NotFound, "no address"),
            },
            ureq::Error::Io(e) => {
                if let Some(tls) = e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
                    return FetchError::Tls {
                        host,
                        reason: describe_tls(tls),
                    };
                }
                network(url, e.to_string())
            }
            ureq::Error::Rustls(e) => FetchError::Tls {
                host,
                reason: describe_tls(&e),
            },
            ureq::Error::Other(e) => match e.downcast::<TlsFailure>() {
                Ok(t) => FetchError::Tls {
                    host: t.host,
                    reason: t.reason,
                },
                Err(e) => network(url, e.to_string()),
            },
            ureq::Error::ConnectProxyFailed(reason) => FetchError::Proxy {
                proxy: "the configured proxy".into(),
                reason,
            },
            ureq::Error::ConnectionFailed => network(url, "the connection failed".into()),
            other => network(url, other.to_string()),
        }
    }
}

fn check_cancel(t: &Transfer, cancel: &AtomicBool) -> Result<(), FetchError> {
    if cancel.load(Ordering::Relaxed) {
        return Err(FetchError::Cancelled {
            url: t.original.to_string(),
        });
    }
    Ok(())
}

fn network(url: &url::Url, reason: String) -> FetchError {
    FetchError::Network {
        url: url.to_string(),
        reason,
    }
}

fn secs(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

fn content_length(resp: &ureq::http::Response<ureq::Body>) -> Option<u64> {
    resp.headers()
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
}

/// `bytes 100-199/1000` -> (100, 199, Some(1000)); `bytes 100-199/*` -> total None.
fn parse_content_range(v: &str) -> Option<(u64, u64, Option<u64>)> {
    let rest = v.trim().strip_prefix("bytes")?.trim_start();
    let (range, total) = rest.split_once('/')?;
    let (start, end) = range.split_once('-')?;
    let start = start.trim().parse().ok()?;
    let end = end.trim().parse().ok()?;
    let total = match total.trim() {
        "*" => None,
        t => Some(t.parse().ok()?),
    };
    (start <= end).then_some((start, end, total))
}

/// `10.0.2.2`, or `10.0.2.2:8080` when the URL names a port.
fn host_of(url: &url::Url) -> String {
    let host = url.host_str().unwrap_or("?");
    match url.port() {
        Some(p) => format!("{host}:{p}"),
        None => host.to_string(),
    }
}

/// `" Not Found"` for a reason phrase, nothing for none (used by [`FetchError::Http`]).
pub(crate) fn space_before(reason: &str) -> String {
    if reason.is_empty() {
        String::new()
    } else {
        format!(" {reason}")
    }
}

fn status_error(url: &url::Url, status: u16) -> FetchError {
    let reason = ureq::http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("");
    let mut path = url.path().to_string();
    if let Some(q) = url.query() {
        path.push('?');
        path.push_str(q);
    }
    FetchError::Http {
        status,
        reason: reason.to_string(),
        host: host_of(url),
        path,
    }
}

// ---- TLS ----------------------------------------------------------------------------------

/// The rustls client config: Mozilla roots plus every certificate in the given PEM files.
fn tls_config(cas: &[PathBuf]) -> Result<ClientConfig, FetchError> {
    let mut roots = RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    for path in cas {
        let ca_err = |reason: String| FetchError::Ca {
            path: path.display().to_string(),
            reason,
        };
        let pem = std::fs::read(path).map_err(|e| ca_err(e.to_string()))?;
        let mut added = 0;
        for item in ureq::tls::parse_pem(&pem) {
            match item {
                Ok(ureq::tls::PemItem::Certificate(cert)) => {
                    roots
                        .add(CertificateDer::from(cert.der().to_vec()))
                        .map_err(|e| ca_err(format!("a certificate is not usable: {e}")))?;
                    added += 1;
                }
                Ok(_) => {}
                Err(e) => return Err(ca_err(format!("bad PEM: {e}"))),
            }
        }
        if added == 0 {
            return Err(ca_err("it holds no PEM certificate".into()));
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| FetchError::Tls {
            host: "any host".into(),
            reason: e.to_string(),
        })?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(config)
}

/// A TLS handshake failure, carried through ureq as `Error::Other`.
#[derive(Debug)]
struct TlsFailure {
    host: String,
    reason: String,
}

impl fmt::Display for TlsFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TLS to {} failed: {}", self.host, self.reason)
    }
}

impl std::error::Error for TlsFailure {}

/// Wraps https connections in rustls with our own root store.
#[derive(Debug)]
struct TlsConnector {
    config: Arc<ClientConfig>,
}

impl<In: Transport> Connector<In> for TlsConnector {
    type Out = Either<In, TlsTransport>;

    fn connect(
        &self,
        details: &ConnectionDetails,
        chained: Option<In>,
    ) -> Result<Option<Self::Out>, ureq::Error> {
        let Some(transport) = chained else {
            return Err(ureq::Error::ConnectionFailed);
        };
        if !details.needs_tls() || transport.is_tls() {
            return Ok(Some(Either::A(transport)));
        }
        let host = details
            .uri
            .host()
            .unwrap_or("")
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let name = ServerName::try_from(host.clone()).map_err(|e| {
            ureq::Error::Other(Box::new(TlsFailure {
                host: host.clone(),
                reason: format!("'{host}' is not a valid server name ({e})"),
            }))
        })?;
        let mut conn = ClientConnection::new(self.config.clone(), name).map_err(|e| {
            ureq::Error::Other(Box::new(TlsFailure {
                host: host.clone(),
                reason: describe_tls(&e),
            }))
        })?;
        let mut sock = TransportAdapter::new(transport.boxed(), details.current_time.clone());
        sock.set_timeout(details.timeout);
        while conn.is_handshaking() {
            if let Err(e) = conn.complete_io(&mut sock) {
                let reason = match e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
                    Some(tls) => describe_tls(tls),
                    None => return Err(ureq::Error::Io(e)),
                };
                return Err(ureq::Error::Other(Box::new(TlsFailure { host, reason })));
            }
        }
        let buffers = LazyBuffers::new(
            details.config.input_buffer_size(),
            details.config.output_buffer_size(),
        );
        Ok(Some(Either::B(TlsTransport {
            buffers,
            stream: StreamOwned { conn, sock },
        })))
    }
}

struct TlsTransport {
    buffers: LazyBuffers,
    stream: StreamOwned<ClientConnection, TransportAdapter>,
}

impl fmt::Debug for TlsTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsTransport").finish()
    }
}

impl Transport for TlsTransport {
    fn buffers(&mut self) -> &mut dyn Buffers {
        &mut self.buffers
    }

    fn transmit_output(&mut self, amount: usize, timeout: NextTimeout) -> Result<(), ureq::Error> {
        self.stream.get_mut().set_timeout(timeout);
        let output = &self.buffers.output()[..amount];
        self.stream.write_all(output)?;
        Ok(())
    }

    fn await_input(&mut self, timeout: NextTimeout) -> Result<bool, ureq::Error> {
        self.stream.get_mut().set_timeout(timeout);
        let input = self.buffers.input_append_buf();
        let amount = self.stream.read(input)?;
        self.buffers.input_appended(amount);
        Ok(amount > 0)
    }

    fn is_open(&mut self) -> bool {
        self.stream.get_mut().get_mut().is_open()
    }

    fn is_tls(&self) -> bool {
        true
    }
}

/// An HTTP proxy (`http://[user:password@]host[:port]`; no scheme means http).
fn proxy_of(p: &str) -> Result<ureq::Proxy, FetchError> {
    let err = |reason: String| FetchError::Proxy {
        proxy: crate::cmdline::secrets::mask_value(p),
        reason,
    };
    let with_scheme = super::proxy::with_scheme(p);
    if !with_scheme.starts_with("http://") {
        return Err(err(
            "only http:// proxies are supported (HTTPS goes through them with CONNECT)".into(),
        ));
    }
    ureq::Proxy::new(&with_scheme).map_err(|e| err(e.to_string()))
}

/// The reason a TLS connection failed, for a person at a boot prompt.
fn describe_tls(err: &rustls::Error) -> String {
    match err {
        rustls::Error::InvalidCertificate(cert) => match cert {
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                format!("certificate expired ({})", clock_hint())
            }
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                format!("certificate is not valid yet ({})", clock_hint())
            }
            CertificateError::UnknownIssuer => "certificate signed by an unknown authority \
                 (give its CA with extra_ca or in /etc/ssl/certs/kboot-extra.pem)"
                .to_string(),
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                "certificate is not valid for this host name".to_string()
            }
            CertificateError::Revoked => "certificate has been revoked".to_string(),
            other => format!("certificate rejected: {other:?}"),
        },
        rustls::Error::AlertReceived(alert) => {
            format!("the server refused the handshake (alert {alert:?})")
        }
        rustls::Error::NoCertificatesPresented => "the server presented no certificate".to_string(),
        other => other.to_string(),
    }
}

/// "is the clock right? it says 1970-01-01 00:00:00 UTC", plus what to do when the clock is
/// plainly wrong (before [`crate::clock::PLAUSIBLE_FLOOR`]).
fn clock_hint() -> String {
    clock_hint_at(crate::clock::now_unix_nanos().div_euclid(1_000_000_000))
}

fn clock_hint_at(unix: i64) -> String {
    let says = crate::clock::format_utc(unix);
    if unix < crate::clock::PLAUSIBLE_FLOOR {
        format!(
            "is the clock right? it says {says}, before this kboot was built; {}",
            crate::clock::CLOCK_ADVICE
        )
    } else {
        format!("is the clock right? it says {says}")
    }
}

// ---- Content-Length overrun detection -----------------------------------------------------

/// Records how many received bytes were still unread when a connection was dropped. With one
/// request per connection, bytes past the end of a body are a server sending more than its
/// Content-Length.
#[derive(Debug)]
struct LeftoverConnector {
    leftover: Arc<AtomicU64>,
}

impl<In: Transport> Connector<In> for LeftoverConnector {
    type Out = Leftover<In>;

    fn connect(
        &self,
        _details: &ConnectionDetails,
        chained: Option<In>,
    ) -> Result<Option<Self::Out>, ureq::Error> {
        Ok(chained.map(|inner| Leftover {
            inner,
            leftover: self.leftover.clone(),
        }))
    }
}

#[derive(Debug)]
struct Leftover<T: Transport> {
    inner: T,
    leftover: Arc<AtomicU64>,
}

impl<T: Transport> Transport for Leftover<T> {
    fn buffers(&mut self) -> &mut dyn Buffers {
        self.inner.buffers()
    }

    fn transmit_output(&mut self, amount: usize, timeout: NextTimeout) -> Result<(), ureq::Error> {
        self.inner.transmit_output(amount, timeout)
    }

    fn await_input(&mut self, timeout: NextTimeout) -> Result<bool, ureq::Error> {
        self.inner.await_input(timeout)
    }

    fn is_open(&mut self) -> bool {
        self.inner.is_open()
    }

    fn is_tls(&self) -> bool {
        self.inner.is_tls()
    }
}

impl<T: Transport> Drop for Leftover<T> {
    fn drop(&mut self) {
        let n = self.inner.buffers().input().len() as u64;
        self.leftover.fetch_add(n, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_range_parsing() {
        assert_eq!(
            parse_content_range("bytes 100-199/1000"),
            Some((100, 199, Some(1000)))
        );
        assert_eq!(parse_content_range("bytes 5-9/*"), Some((5, 9, None)));
        assert_eq!(parse_content_range("bytes 9-5/10"), None);
        assert_eq!(parse_content_range("items 1-2/3"), None);
        assert_eq!(parse_content_range(""), None);
        assert_eq!(parse_content_range("bytes -5/10"), None);
    }

    #[test]
    fn the_clock_hint_gives_advice_only_for_a_plainly_wrong_clock() {
        assert_eq!(
            clock_hint_at(1_800_000_000),
            "is the clock right? it says 2027-01-15 08:00:00 UTC"
        );
        assert_eq!(
            clock_hint_at(978_350_400),
            "is the clock right? it says 2001-01-01 12:00:00 UTC, before this kboot was built; \
             give the machine an NTP server (DHCP option 42 or kboot.ntp=) or set its RTC"
        );
    }

    #[test]
    fn status_errors_read_well() {
        let url = url::Url::parse("http://10.0.2.2/vmlinuz").unwrap();
        assert_eq!(
            status_error(&url, 404).to_string(),
            "HTTP 404 Not Found from 10.0.2.2 for /vmlinuz"
        );
        let url = url::Url::parse("http://h:8080/a?b=1").unwrap();
        assert_eq!(
            status_error(&url, 599).to_string(),
            "HTTP 599 from h:8080 for /a?b=1"
        );
    }

    #[test]
    fn tls_reasons_mention_the_clock() {
        let e = rustls::Error::InvalidCertificate(CertificateError::Expired);
        let s = describe_tls(&e);
        assert!(
            s.starts_with("certificate expired (is the clock right? it says "),
            "{s}"
        );
    }

    #[test]
    fn bad_ca_files_are_reported() {
        let err = tls_config(&[PathBuf::from("/nonexistent/ca.pem")]).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/ca.pem"), "{err}");
        let path = std::env::temp_dir().join(format!("kboot-ca-{}.pem", std::process::id()));
        std::fs::write(&path, "not a pem").unwrap();
        let err = tls_config(std::slice::from_ref(&path)).unwrap_err();
        std::fs::remove_file(&path).unwrap();
        assert!(err.to_string().contains("no PEM certificate"), "{err}");
    }
}

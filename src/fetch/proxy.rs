//! Which HTTP proxy an http/https URL goes through.
//!
//! Sources, most specific first: a kboot.conf `proxy=` (for that menu's kernels and initrds,
//! passed as [`super::FetchOptions::proxy`]); the process default set once at start with
//! [`set_default`]: `kboot.proxy=` in PID 1, the environment on a host CLI.
//!
//! The environment is read with curl's rules: `http_proxy` (or `HTTP_PROXY`) for http URLs,
//! `https_proxy`/`HTTPS_PROXY` for https, `all_proxy`/`ALL_PROXY` for both when those are
//! unset, the lower-case name first; an empty value is unset. `no_proxy`/`NO_PROXY` is a list
//! (commas and/or spaces) of host names, matching the host itself and every name under it (a
//! leading dot is ignored: `example.com` and `.example.com` both match `www.example.com`),
//! IP addresses or CIDR ranges (`192.0.2.0/24`, `2001:db8::/32`), or `*` for everything.
//! Ports in the list are not compared. A proxy without a scheme is `http://`.

use std::net::IpAddr;
use std::sync::RwLock;

/// Proxies per scheme plus the hosts that go direct.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProxySettings {
    /// For http:// URLs.
    pub http: Option<String>,
    /// For https:// URLs (tunnelled with CONNECT).
    pub https: Option<String>,
    /// Hosts reached directly (see the module documentation).
    pub no_proxy: Vec<String>,
}

impl ProxySettings {
    /// One proxy for http and https (kboot.proxy=, kboot.conf proxy=).
    pub fn all(proxy: &str) -> Self {
        let p = normalise(proxy);
        Self {
            http: p.clone(),
            https: p,
            no_proxy: Vec::new(),
        }
    }

    /// From environment variables, looked up through `get`.
    pub fn from_env_with(get: impl Fn(&str) -> Option<String>) -> Self {
        let var = |names: &[&str]| {
            names
                .iter()
                .find_map(|n| get(n).filter(|v| !v.trim().is_empty()))
        };
        let all = var(&["all_proxy", "ALL_PROXY"]);
        let http = var(&["http_proxy", "HTTP_PROXY"]).or_else(|| all.clone());
        let https = var(&["https_proxy", "HTTPS_PROXY"]).or(all);
        let no_proxy = var(&["no_proxy", "NO_PROXY"])
            .map(|v| {
                v.split(|c: char| c == ',' || c.is_whitespace())
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        Self {
            http: http.and_then(|p| normalise(&p)),
            https: https.and_then(|p| normalise(&p)),
            no_proxy,
        }
    }

    /// From this process's environment.
    pub fn from_env() -> Self {
        Self::from_env_with(|name| std::env::var(name).ok())
    }

    /// True when no URL goes through a proxy.
    pub fn is_empty(&self) -> bool {
        self.http.is_none() && self.https.is_none()
    }

    /// The proxy for `url`, or `None` to go direct (other schemes, a `no_proxy` host).
    pub fn for_url(&self, url: &url::Url) -> Option<&str> {
        let proxy = match url.scheme() {
            "http" => self.http.as_deref(),
            "https" => self.https.as_deref(),
            _ => None,
        }?;
        let host = match url.host() {
            Some(url::Host::Domain(d)) => d.to_string(),
            Some(url::Host::Ipv4(a)) => a.to_string(),
            Some(url::Host::Ipv6(a)) => a.to_string(),
            None => return None,
        };
        (!no_proxy_matches(&self.no_proxy, &host)).then_some(proxy)
    }
}

/// `host:3128` -> `http://host:3128`; empty -> `None`.
fn normalise(proxy: &str) -> Option<String> {
    let p = proxy.trim();
    (!p.is_empty()).then(|| with_scheme(p))
}

/// A proxy written without a scheme is an `http://` one: `host:3128` -> `http://host:3128`.
pub fn with_scheme(proxy: &str) -> String {
    if proxy.contains("://") {
        proxy.to_string()
    } else {
        format!("http://{proxy}")
    }
}

/// True when `host` (a name or an address, without brackets or port) is in the no_proxy list.
pub fn no_proxy_matches(entries: &[String], host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let host_ip = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
        .ok();
    entries.iter().any(|entry| {
        let entry = entry.trim();
        if entry == "*" {
            return true;
        }
        if let Some(ip) = host_ip {
            return ip_matches(entry, ip);
        }
        let name = entry
            .trim_start_matches('.')
            .trim_end_matches('.')
            .to_ascii_lowercase();
        // `name:port`: ports are not compared.
        let name = match name.rsplit_once(':') {
            Some((n, p)) if !n.contains(':') && p.chars().all(|c| c.is_ascii_digit()) => {
                n.to_string()
            }
            _ => name,
        };
        !name.is_empty()
            && (host == name
                || (host.len() > name.len()
                    && host.ends_with(&name)
                    && host.as_bytes()[host.len() - name.len() - 1] == b'.'))
    })
}

/// `entry` is an address (`192.0.2.1`, `[2001:db8::1]`) or a CIDR range equal to/holding `ip`.
fn ip_matches(entry: &str, ip: IpAddr) -> bool {
    let entry = entry.trim_start_matches('[');
    let (addr, bits) = match entry.split_once('/') {
        Some((a, b)) => match b.parse::<u32>() {
            Ok(b) => (a, Some(b)),
            Err(_) => return false,
        },
        None => (entry, None),
    };
    let Ok(net) = addr.trim_end_matches(']').parse::<IpAddr>() else {
        return false;
    };
    match (net, ip) {
        (IpAddr::V4(n), IpAddr::V4(a)) => prefix_eq(&n.octets(), &a.octets(), bits.unwrap_or(32)),
        (IpAddr::V6(n), IpAddr::V6(a)) => prefix_eq(&n.octets(), &a.octets(), bits.unwrap_or(128)),
        _ => false,
    }
}

/// The first `bits` bits of `a` and `b` are equal (`bits` past their length: never).
fn prefix_eq(a: &[u8], b: &[u8], bits: u32) -> bool {
    let bits = bits as usize;
    if bits > a.len() * 8 {
        return false;
    }
    let (whole, rest) = (bits / 8, bits % 8);
    if a[..whole] != b[..whole] {
        return false;
    }
    rest == 0 || {
        let mask = 0xffu8 << (8 - rest);
        a[whole] & mask == b[whole] & mask
    }
}

static DEFAULT: RwLock<Option<ProxySettings>> = RwLock::new(None);

/// Set the proxies used when a fetch names none (kboot.proxy=, or the environment on a host).
pub fn set_default(settings: ProxySettings) {
    let value = (!settings.is_empty()).then_some(settings);
    *DEFAULT.write().unwrap_or_else(|p| p.into_inner()) = value;
}

/// The default proxy for `url`, if any.
pub fn default_for(url: &url::Url) -> Option<String> {
    DEFAULT
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .as_ref()
        .and_then(|s| s.for_url(url).map(str::to_string))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> ProxySettings {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        ProxySettings::from_env_with(|k| map.get(k).cloned())
    }

    fn pick<'a>(s: &'a ProxySettings, url: &str) -> Option<&'a str> {
        s.for_url(&url::Url::parse(url).unwrap())
    }

    #[test]
    fn the_scheme_picks_the_variable() {
        let s = env(&[
            ("http_proxy", "http://192.0.2.1:3128"),
            ("HTTPS_PROXY", "192.0.2.2:8080"),
        ]);
        assert_eq!(pick(&s, "http://a/k"), Some("http://192.0.2.1:3128"));
        assert_eq!(pick(&s, "https://a/k"), Some("http://192.0.2.2:8080"));
        assert_eq!(pick(&s, "tftp://a/k"), None);
        assert_eq!(pick(&s, "file:///k"), None);
        assert_eq!(pick(&s, "nfs://a/k"), None);
    }

    #[test]
    fn lower_case_wins_empty_is_unset_and_all_proxy_fills_in() {
        let s = env(&[
            ("http_proxy", "http://lower:1"),
            ("HTTP_PROXY", "http://upper:1"),
            ("https_proxy", " "),
            ("HTTPS_PROXY", "http://upper-s:2"),
        ]);
        assert_eq!(pick(&s, "http://a/"), Some("http://lower:1"));
        assert_eq!(pick(&s, "https://a/"), Some("http://upper-s:2"));
        let s = env(&[("ALL_PROXY", "http://all:3"), ("http_proxy", "http://h:1")]);
        assert_eq!(pick(&s, "http://a/"), Some("http://h:1"));
        assert_eq!(pick(&s, "https://a/"), Some("http://all:3"));
        assert!(env(&[("http_proxy", "")]).is_empty());
        assert!(env(&[]).is_empty());
    }

    #[test]
    fn no_proxy_matches_host_suffixes_addresses_and_ranges() {
        let s = env(&[
            ("http_proxy", "http://p:3128"),
            (
                "NO_PROXY",
                "localhost, .internal.example,example.org 192.0.2.7,198.51.100.0/24,[2001:db8::1],2001:db8:1::/48,box:8080",
            ),
        ]);
        let direct = |u: &str| pick(&s, u).is_none();
        assert!(direct("http://localhost:8080/"));
        assert!(direct("http://LOCALHOST./"));
        assert!(direct("http://internal.example/"));
        assert!(direct("http://a.b.internal.example/"));
        assert!(direct("http://example.org/"));
        assert!(direct("http://www.example.org/"));
        assert!(direct("http://192.0.2.7/"));
        assert!(direct("http://198.51.100.200/"));
        assert!(direct("http://[2001:db8::1]/"));
        assert!(direct("http://[2001:db8:1:ffff::5]/"));
        assert!(direct("http://box/"));
        // Suffixes match whole labels only; addresses are not names.
        assert!(!direct("http://notexample.org/"));
        assert!(!direct("http://example.org.evil/"));
        assert!(!direct("http://192.0.2.70/"));
        assert!(!direct("http://198.51.101.1/"));
        assert!(!direct("http://[2001:db8:2::1]/"));
        assert!(!direct("http://localhost2/"));
        let all = env(&[("http_proxy", "p:1"), ("no_proxy", "*")]);
        assert_eq!(pick(&all, "http://anything/"), None);
    }

    #[test]
    fn malformed_no_proxy_entries_match_nothing() {
        for entry in [
            "",
            ".",
            "..",
            "/",
            "192.0.2.0/33",
            "192.0.2.0/x",
            "::/129",
            "[",
            "]",
            ":",
            "a:b:c",
        ] {
            let list = vec![entry.to_string()];
            for host in ["a", "192.0.2.1", "::1", "", "."] {
                assert!(!no_proxy_matches(&list, host), "{entry:?} {host:?}");
            }
        }
        assert!(prefix_eq(&[1, 2], &[1, 3], 14));
        assert!(!prefix_eq(&[1, 2], &[1, 3], 16));
        assert!(prefix_eq(&[1, 2], &[9, 9], 0));
    }

    #[test]
    fn one_proxy_for_both_schemes() {
        let s = ProxySettings::all("192.0.2.9:3128");
        assert_eq!(pick(&s, "http://a/"), Some("http://192.0.2.9:3128"));
        assert_eq!(pick(&s, "https://a/"), Some("http://192.0.2.9:3128"));
        assert!(ProxySettings::all("").is_empty());
    }
}

//! IOC lists, offline: IP/CIDR lists with a tag, the Tor exit-addresses
//! format, AWS `ip-ranges.json`, and domain lists. Lookups hash the address
//! masked to each prefix length present (at most 33 or 129 probes), never
//! a scan of the list.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::path::Path;

use rustc_hash::FxHashMap;

/// Most characters of a bad line quoted in an error.
const QUOTE_MAX: usize = 120;

#[derive(Debug, thiserror::Error)]
pub enum IocError {
    #[error("{file}: cannot read: {source}")]
    Read { file: String, source: std::io::Error },
    #[error("{file}:{line}: {message}")]
    Invalid { file: String, line: usize, message: String },
    #[error(transparent)]
    Input(#[from] crate::input::InputError),
}

/// Addresses and prefixes with tags, plus domains.
#[derive(Debug, Default, Clone)]
pub struct IocSet {
    /// (`is_v6`, prefix length) → masked address → tags.
    prefixes: BTreeMap<(bool, u8), FxHashMap<u128, BTreeSet<String>>>,
    domains: BTreeMap<String, BTreeSet<String>>,
    entries: usize,
    /// Every tag some address or prefix carries.
    address_tags: BTreeSet<String>,
}

fn key(ip: IpAddr) -> (bool, u128) {
    match crate::model::normalize_ip(ip) {
        IpAddr::V4(a) => (false, u128::from(u32::from(a))),
        IpAddr::V6(a) => (true, u128::from(a)),
    }
}

fn mask(v: u128, v6: bool, len: u8) -> u128 {
    let bits: u32 = if v6 { 128 } else { 32 };
    let len = u32::from(len).min(bits);
    if len == 0 {
        return 0;
    }
    let keep = bits - len;
    let full = if v6 { u128::MAX } else { u128::from(u32::MAX) };
    v & (full << keep) & full
}

/// Parse `a.b.c.d`, `a.b.c.d/n`, `v6`, `v6/n`.
pub fn parse_cidr(text: &str) -> Option<(IpAddr, u8)> {
    let (addr, len) = match text.split_once('/') {
        Some((a, l)) => (a, Some(l.parse::<u8>().ok()?)),
        None => (text, None),
    };
    let ip: IpAddr = addr.trim().parse().ok()?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    let len = len.unwrap_or(max);
    (len <= max).then_some((ip, len))
}

impl IocSet {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn len(&self) -> usize {
        self.entries
    }

    pub fn is_empty(&self) -> bool {
        self.entries == 0
    }

    pub fn insert(&mut self, ip: IpAddr, len: u8, tag: &str) {
        let (v6, v) = key(ip);
        let len = if ip.is_ipv6() && !v6 { len.saturating_sub(96) } else { len };
        self.prefixes.entry((v6, len)).or_default().entry(mask(v, v6, len)).or_default().insert(tag.to_string());
        if !self.address_tags.contains(tag) {
            self.address_tags.insert(tag.to_string());
        }
        self.entries += 1;
    }

    /// Whether some address or prefix of the lists carries `tag`.
    pub fn has_address_tag(&self, tag: &str) -> bool {
        self.address_tags.contains(tag)
    }

    pub fn insert_domain(&mut self, domain: &str, tag: &str) {
        self.domains.entry(domain.trim_end_matches('.').to_ascii_lowercase()).or_default().insert(tag.to_string());
        self.entries += 1;
    }

    /// Every tag of every list entry containing `ip`.
    pub fn tags(&self, ip: IpAddr) -> BTreeSet<String> {
        let (v6, v) = key(ip);
        let mut out = BTreeSet::new();
        for ((is_v6, len), table) in &self.prefixes {
            if *is_v6 == v6
                && let Some(tags) = table.get(&mask(v, v6, *len))
            {
                out.extend(tags.iter().cloned());
            }
        }
        out
    }

    /// Tags of a host name or any parent domain of it.
    /// Whether any list gave domains.
    pub fn has_domains(&self) -> bool {
        !self.domains.is_empty()
    }

    pub fn domain_tags(&self, host: &str) -> BTreeSet<String> {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        let mut out = BTreeSet::new();
        let mut rest = host.as_str();
        loop {
            if let Some(t) = self.domains.get(rest) {
                out.extend(t.iter().cloned());
            }
            match rest.split_once('.') {
                Some((_, parent)) => rest = parent,
                None => return out,
            }
        }
    }

    /// Load a list. `tag` names the list's entries; without it the file's
    /// `# tag: NAME` header, or `default_tag` (`ioc` for `--ioc`), is used. The format is
    /// recognised from the content.
    pub fn load_file(&mut self, path: &Path, tag: Option<&str>) -> Result<usize, IocError> {
        let file = path.display().to_string();
        let text = crate::input::read_text(path, crate::input::Kind::IocList)?;
        self.load_text(&text, &file, tag, "ioc")
    }

    pub fn load_text(&mut self, text: &str, file: &str, tag: Option<&str>, default_tag: &str) -> Result<usize, IocError> {
        let before = self.entries;
        let header_tag = text.lines().find_map(|l| l.trim().strip_prefix("# tag:").map(|t| t.trim().to_string()));
        let tag = tag.map(str::to_string).or(header_tag).unwrap_or_else(|| default_tag.to_string());
        let invalid = |line: usize, message: String| IocError::Invalid { file: file.to_string(), line, message };
        // A hostile list must not put raw controls or a megabyte line into an error.
        let quote = |text: &str| crate::text::bounded(&crate::text::escape_control(text), QUOTE_MAX);
        let trimmed = text.trim_start();
        if trimmed.starts_with('{') {
            self.load_aws(text, file)?;
        } else if text.lines().any(|l| l.starts_with("ExitAddress ")) {
            for (i, line) in text.lines().enumerate() {
                if let Some(rest) = line.strip_prefix("ExitAddress ") {
                    let ip = rest.split_whitespace().next().unwrap_or("");
                    let (ip, len) = parse_cidr(ip).ok_or_else(|| invalid(i + 1, format!("ExitAddress `{}`: expected an IP address", quote(ip))))?;
                    self.insert(ip, len, "tor_exit");
                }
            }
        } else {
            for (i, raw) in text.lines().enumerate() {
                let line = raw.split('#').next().unwrap_or("").trim();
                if line.is_empty() {
                    continue;
                }
                if let Some((ip, len)) = parse_cidr(line) {
                    self.insert(ip, len, &tag);
                } else if line.contains('.') && line.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-') {
                    self.insert_domain(line, &tag);
                } else {
                    return Err(invalid(i + 1, format!("`{}`: expected an IP address, a CIDR (203.0.113.0/24) or a domain", quote(line))));
                }
            }
        }
        Ok(self.entries - before)
    }

    /// AWS `ip-ranges.json`: tags `aws` and `aws_<service>` (lower case).
    fn load_aws(&mut self, text: &str, file: &str) -> Result<(), IocError> {
        let v: serde_json::Value = serde_json::from_str(text).map_err(|e| IocError::Invalid {
            file: file.to_string(),
            line: e.line(),
            message: format!("not ip-ranges.json: {e}"),
        })?;
        let mut seen = false;
        for (list, field) in [("prefixes", "ip_prefix"), ("ipv6_prefixes", "ipv6_prefix")] {
            for p in v.get(list).and_then(|x| x.as_array()).into_iter().flatten() {
                let Some((ip, len)) = p.get(field).and_then(|x| x.as_str()).and_then(parse_cidr) else { continue };
                let service = p.get("service").and_then(|x| x.as_str()).unwrap_or("amazon").to_ascii_lowercase();
                self.insert(ip, len, "aws");
                self.insert(ip, len, &format!("aws_{service}"));
                seen = true;
            }
        }
        if seen {
            Ok(())
        } else {
            Err(IocError::Invalid { file: file.to_string(), line: 1, message: "no `prefixes[].ip_prefix` entries: expected AWS ip-ranges.json".into() })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    #[test]
    fn cidrs_addresses_and_domains_with_tags() {
        let mut set = IocSet::new();
        set.load_text("# tag: c2\n203.0.113.0/24\n198.51.100.7 # a host\n2001:db8:bad::/48\nevil.example\n", "t", None, "x").expect("loads");
        assert_eq!(set.tags(ip("203.0.113.99")), BTreeSet::from(["c2".to_string()]));
        assert!(set.tags(ip("203.0.114.1")).is_empty());
        assert_eq!(set.tags(ip("198.51.100.7")).len(), 1);
        assert!(set.tags(ip("198.51.100.8")).is_empty());
        assert_eq!(set.tags(ip("2001:db8:bad:1::5")).len(), 1);
        assert_eq!(set.tags(ip("::ffff:203.0.113.5")).len(), 1, "v4-mapped is looked up as v4");
        assert_eq!(set.domain_tags("www.evil.example").len(), 1);
        assert!(set.domain_tags("example").is_empty());
    }

    #[test]
    fn tor_and_aws_formats() {
        let mut set = IocSet::new();
        set.load_text(
            "ExitNode ABCD\nPublished 2025-01-01 00:00:00\nLastStatus 2025-01-01 01:00:00\nExitAddress 192.0.2.50 2025-01-01 01:02:03\n",
            "tor",
            None,
            "x",
        )
        .expect("tor");
        assert_eq!(set.tags(ip("192.0.2.50")), BTreeSet::from(["tor_exit".to_string()]));
        set.load_text(r#"{"prefixes":[{"ip_prefix":"198.51.100.0/25","region":"x","service":"S3"}],"ipv6_prefixes":[]}"#, "aws", None, "x").expect("aws");
        assert_eq!(set.tags(ip("198.51.100.1")), BTreeSet::from(["aws".to_string(), "aws_s3".to_string()]));
    }

    #[test]
    fn bad_lines_name_file_and_line() {
        let e = IocSet::new().load_text("192.0.2.1\nnot an address\n", "bad.txt", Some("t"), "x").expect_err("bad");
        assert!(e.to_string().starts_with("bad.txt:2: `not an address`"), "{e}");
        assert!(IocSet::new().load_text("10.0.0.0/33\n", "b", None, "x").is_err());
    }

    #[test]
    fn a_hostile_line_is_quoted_escaped_and_bounded() {
        let line = format!("\x1b[31m\u{9b}2J\u{202e}{}", "[".repeat(200_000));
        let e = IocSet::new().load_text(&line, "bad.txt", None, "x").expect_err("bad").to_string();
        assert!(!e.chars().any(crate::text::is_unsafe), "{e}");
        assert!(e.contains("\\x1b[31m\\x9b2J\\u{202e}"), "{e}");
        assert!(e.len() < 400, "{} bytes", e.len());
    }
}

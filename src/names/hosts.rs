//! `/etc/hosts`: fixed names for addresses (`10.0.0.5 db db.internal`),
//! read once with a bounded read. Bad lines are skipped, not reported:
//! the file belongs to the system, and a name shown is only a hint.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::Path;

use super::answer::MAX_NAME;

/// Names per address kept from the file.
const MAX_PER_ADDR: usize = 4;

/// Each address of hosts text with its names, in file order.
pub fn parse_hosts(text: &str) -> Vec<(IpAddr, Vec<String>)> {
    let mut out: Vec<(IpAddr, Vec<String>)> = Vec::new();
    // Position of each address in `out` (a 1 MiB file has ~50k lines).
    let mut index: HashMap<IpAddr, usize> = HashMap::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("");
        let mut fields = line.split_whitespace();
        let Some(Ok(addr)) = fields.next().map(|a| a.split('%').next().unwrap_or(a).parse::<IpAddr>()) else { continue };
        let names: Vec<String> = fields.filter(|n| valid(n)).map(str::to_ascii_lowercase).collect();
        if names.is_empty() {
            continue;
        }
        let at = *index.entry(addr).or_insert_with(|| {
            out.push((addr, Vec::new()));
            out.len() - 1
        });
        let slot = &mut out[at].1;
        for n in names {
            if slot.len() < MAX_PER_ADDR && !slot.contains(&n) {
                slot.push(n);
            }
        }
    }
    out
}

/// A host name as the file may give it: letters, digits, `-`, `.`, `_`.
fn valid(name: &str) -> bool {
    !name.is_empty() && name.len() <= MAX_NAME && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'))
}

/// The entries of the hosts file at `path` (none when it cannot be read).
pub fn load_hosts(path: &Path) -> Result<Vec<(IpAddr, Vec<String>)>, super::file::FileError> {
    super::file::read_small(path).map(|text| parse_hosts(&text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_addresses_names_and_comments() {
        let h = parse_hosts(
            "127.0.0.1\tlocalhost\n# 10.0.0.1 commented\n::1 localhost ip6-localhost ip6-loopback\n\
             10.0.0.5 DB db.internal # the database\n10.0.0.5 db extra\nnot-an-ip name\n10.0.0.6\n\
             fe80::1%eth0 router\n10.0.0.7 bad\x1bname ok\n",
        );
        let get = |a: &str| h.iter().find(|(ip, _)| *ip == a.parse::<IpAddr>().expect("ip")).map(|(_, n)| n.clone());
        assert_eq!(get("127.0.0.1"), Some(vec!["localhost".to_string()]));
        assert_eq!(get("::1").expect("v6").len(), 3);
        assert_eq!(get("10.0.0.5"), Some(vec!["db".to_string(), "db.internal".to_string(), "extra".to_string()]));
        assert_eq!(get("10.0.0.6"), None);
        assert_eq!(get("fe80::1"), Some(vec!["router".to_string()]));
        assert_eq!(get("10.0.0.7"), Some(vec!["ok".to_string()]));
        assert_eq!(h.len(), 5);
    }
}

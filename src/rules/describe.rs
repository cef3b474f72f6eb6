//! What `rules suggest` reads in a description: intervals ("every 60
//! seconds"), ports ("port 4444", "on 8080", ":443"), process names
//! ("process nc", quoted names, shells and well-known tools), addresses and
//! CIDRs, and a few words (listen, inbound, udp, internet, /tmp, severity).

use std::net::IpAddr;
use std::time::Duration;

/// Shells a "shell" in a description stands for.
pub const SHELLS: [&str; 8] = ["sh", "bash", "dash", "zsh", "ksh", "ash", "csh", "tcsh"];
/// Tools named on their own are taken as process names.
const TOOLS: [&str; 8] = ["nc", "ncat", "netcat", "socat", "telnet", "xmrig", "python3", "perl"];
/// Words after which a name is a process name.
const PROCESS_WORDS: [&str; 6] = ["process", "processes", "program", "binary", "named", "called"];
/// Words after which a number is a port.
const PORT_WORDS: [&str; 6] = ["port", "ports", "on", "to", "tcp", "udp"];

/// What one description says. The flags are independent words, not a state.
#[allow(clippy::struct_excessive_bools)]
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Described {
    pub ports: Vec<u16>,
    /// "every 60 seconds": a regular rhythm, a beacon.
    pub interval: Option<Duration>,
    /// "beacon", "periodic", "regular": a rhythm without a period.
    pub beacon: bool,
    pub processes: Vec<String>,
    pub shell: bool,
    /// Addresses and CIDRs, as written (`203.0.113.0/24`, `2001:db8::1`).
    pub addresses: Vec<String>,
    pub listen: bool,
    pub inbound: bool,
    pub udp: bool,
    pub tcp: bool,
    pub internet: bool,
    pub tmp: bool,
}

impl Described {
    /// Whether anything here narrows a rule (a protocol or direction alone
    /// would match nearly every connection).
    pub fn is_meaningful(&self) -> bool {
        !self.ports.is_empty()
            || self.interval.is_some()
            || self.beacon
            || !self.processes.is_empty()
            || self.shell
            || !self.addresses.is_empty()
            || self.listen
            || self.internet
            || self.tmp
    }
}

/// What the reader understands, for the refusal of a description it could not use.
pub const UNDERSTOOD: &str = "ports (\"port 4444\", \"on 8080\"), intervals (\"every 60 seconds\", \"beaconing\"), \
process names (\"process nc\", a quoted \"name\", shells such as bash), addresses and CIDRs (203.0.113.7, 2001:db8::/32), \
\"listening\", \"inbound\", \"internet\", \"udp\"/\"tcp\" and \"/tmp\"";

/// An address or CIDR, brackets and a trailing `:port` allowed (`[2001:db8::1]:443`, `203.0.113.7:4444`).
fn address(token: &str) -> Option<(String, Option<u16>)> {
    let t = token.trim_matches(|c: char| matches!(c, ',' | ';' | '(' | ')' | '"' | '\''));
    let t = t.strip_suffix('.').unwrap_or(t);
    if let Some(rest) = t.strip_prefix('[') {
        let (ip, after) = rest.split_once(']')?;
        let ip: IpAddr = ip.parse().ok()?;
        let port = after.strip_prefix(':').and_then(|p| p.parse().ok());
        return Some((ip.to_string(), port));
    }
    if let Some((ip, bits)) = t.split_once('/') {
        let ip: IpAddr = ip.parse().ok()?;
        let bits: u8 = bits.parse().ok()?;
        let max = if ip.is_ipv4() { 32 } else { 128 };
        return (bits <= max).then(|| (format!("{ip}/{bits}"), None));
    }
    if let Ok(ip) = t.parse::<IpAddr>() {
        return Some((ip.to_string(), None));
    }
    let (ip, port) = t.rsplit_once(':')?;
    let ip: std::net::Ipv4Addr = ip.parse().ok()?;
    Some((ip.to_string(), port.parse().ok()))
}

/// `60 seconds`, `5m`, `2 minutes`, or `minute` alone (one unit).
fn interval(number: Option<&str>, unit: &str) -> Option<Duration> {
    let scale = match unit {
        "ms" | "millisecond" | "milliseconds" => 0.001,
        "s" | "sec" | "secs" | "second" | "seconds" => 1.0,
        "m" | "min" | "mins" | "minute" | "minutes" => 60.0,
        "h" | "hr" | "hour" | "hours" => 3600.0,
        _ => return None,
    };
    let n: f64 = match number {
        Some(n) => n.parse().ok()?,
        None => 1.0,
    };
    (n > 0.0 && n.is_finite()).then(|| Duration::from_secs_f64(n * scale))
}

/// Split `60s` into `60` and `s`.
fn number_and_unit(word: &str) -> Option<(&str, &str)> {
    let split = word.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
    (split > 0).then(|| word.split_at(split))
}

fn quoted(description: &str) -> Vec<String> {
    let mut out = Vec::new();
    for q in ['"', '\'', '`'] {
        let parts: Vec<&str> = description.split(q).collect();
        // Odd pieces (1, 3, …) are inside quotes when the quotes pair up.
        if parts.len() >= 3 {
            out.extend(parts.iter().skip(1).step_by(2).take(parts.len() / 2).map(|s| s.trim().to_string()).filter(|s| !s.is_empty()));
        }
    }
    out
}

/// Read a description.
pub fn read(description: &str) -> Described {
    let mut d = Described { processes: quoted(description), ..Described::default() };
    let lower = description.to_lowercase();
    let tokens: Vec<&str> = lower.split_whitespace().collect();
    let word = |t: &str| t.trim_matches(|c: char| !c.is_alphanumeric() && c != '.' && c != '/' && c != '_' && c != '-').to_string();
    let mut used = vec![false; tokens.len()];
    for i in 0..tokens.len() {
        let w = word(tokens[i]);
        // Intervals first, so their numbers are never ports.
        if w == "every" || w == "each" {
            let next = tokens.get(i + 1).map(|t| word(t)).unwrap_or_default();
            let after = tokens.get(i + 2).map(|t| word(t)).unwrap_or_default();
            let found = if let Some((n, u)) = number_and_unit(&next) {
                interval(Some(n), u).map(|d| (d, 1))
            } else if next.parse::<f64>().is_ok() {
                interval(Some(&next), &after).map(|d| (d, 2))
            } else {
                interval(None, &next).map(|d| (d, 1))
            };
            if let Some((period, n)) = found {
                d.interval = Some(period);
                for u in used.iter_mut().skip(i).take(n + 1) {
                    *u = true;
                }
            }
        }
    }
    for i in 0..tokens.len() {
        if used[i] {
            continue;
        }
        let raw = tokens[i];
        let w = word(raw);
        let prev = if i > 0 { word(tokens[i - 1]) } else { String::new() };
        if let Some((addr, port)) = address(raw) {
            d.addresses.push(addr);
            d.ports.extend(port);
            continue;
        }
        if let Some(p) = raw.strip_prefix(':').and_then(|p| p.trim_end_matches([',', '.', ';']).parse::<u16>().ok()) {
            d.ports.push(p);
            continue;
        }
        if let Ok(p) = w.parse::<u16>() {
            // A number is a port after a port word, or in a list after one ("ports 80, 443").
            let after_list = i > 0 && tokens[i - 1].ends_with(',') && tokens[..i].iter().rev().any(|t| PORT_WORDS.contains(&word(t).as_str()));
            if p > 0 && (PORT_WORDS.contains(&prev.as_str()) || after_list) {
                d.ports.push(p);
            }
            continue;
        }
        if PROCESS_WORDS.contains(&prev.as_str()) && !w.is_empty() && !raw.starts_with(['"', '\'', '`']) {
            d.processes.push(w.clone());
            continue;
        }
        match w.as_str() {
            "shell" | "shells" | "reverse-shell" => d.shell = true,
            s if SHELLS.contains(&s) => d.shell = true,
            s if TOOLS.contains(&s) => d.processes.push(s.to_string()),
            s if s.starts_with("listen") || s == "listener" || s == "listeners" => d.listen = true,
            "inbound" | "incoming" => d.inbound = true,
            "udp" => d.udp = true,
            "tcp" => d.tcp = true,
            "internet" | "public" | "external" => d.internet = true,
            "beacon" | "beacons" | "beaconing" | "periodic" | "periodically" | "regular" | "regularly" => d.beacon = true,
            s if s.contains("tmp") || s.starts_with("/dev/shm") => d.tmp = true,
            _ => {}
        }
    }
    d.processes.dedup();
    d.ports.dedup();
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_interval_is_not_a_port() {
        let d = read("curl every 60 seconds");
        assert_eq!(d.interval, Some(Duration::from_secs(60)));
        assert!(d.ports.is_empty(), "{d:?}");
        assert_eq!(read("every 5m").interval, Some(Duration::from_secs(300)));
        assert_eq!(read("every minute").interval, Some(Duration::from_secs(60)));
    }

    #[test]
    fn ports_processes_and_addresses() {
        let d = read("process nc on port 4444 to 203.0.113.0/24");
        assert_eq!((d.ports.clone(), d.processes.clone(), d.addresses.clone()), (vec![4444], vec!["nc".to_string()], vec!["203.0.113.0/24".to_string()]));
        let d = read("\"my agent\" talking to [2001:db8::1]:8443 and 198.51.100.7:22");
        assert_eq!(d.processes, vec!["my agent".to_string()]);
        assert_eq!(d.addresses, vec!["2001:db8::1".to_string(), "198.51.100.7".to_string()]);
        assert_eq!(d.ports, vec![8443, 22]);
        assert_eq!(read("ports 80, 443").ports, vec![80, 443]);
        assert_eq!(read("anything on :8080").ports, vec![8080]);
        assert!(read("3 connections").ports.is_empty(), "a bare count is no port");
    }

    #[test]
    fn nothing_meaningful() {
        for text in ["", "   ", "something odd", "tcp", "outbound connections"] {
            assert!(!read(text).is_meaningful(), "{text}");
        }
        assert!(read("shell talking to the internet on 4444").is_meaningful());
    }
}

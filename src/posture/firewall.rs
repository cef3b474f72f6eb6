//! Whether a host firewall exists at all: rules loaded in nftables or
//! iptables. On the live root, `nft list ruleset` and `iptables-save` /
//! `ip6tables-save` are run (they only read; they need root); under any
//! root, `proc/net/ip_tables_names` and `ip6_tables_names` say which
//! iptables tables are loaded.

use std::process::{Command, Stdio};

use super::{Area, Check, Options, Status, read_small};
use crate::model::Severity;

/// What could be learnt about the firewall.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Evidence {
    /// `nft list ruleset` ran: its rule count and whether a chain drops by policy.
    pub nft: Option<(usize, bool)>,
    /// `iptables-save` (v4 and v6) ran: `-A` rules and chains with a DROP policy.
    pub iptables: Option<(usize, bool)>,
    /// Loaded iptables tables from proc.
    pub tables: Vec<String>,
    /// Why a command could not tell (missing, no permission).
    pub unreadable: Vec<String>,
}

/// Rules and drop policies in `nft list ruleset` output.
pub fn count_nft(text: &str) -> (usize, bool) {
    let mut rules = 0;
    let mut drop = false;
    for l in text.lines().map(str::trim) {
        if l.starts_with("type ") && l.contains("hook") {
            drop |= l.contains("policy drop");
        } else if !l.is_empty()
            && !l.starts_with(['#', '}'])
            && !["table ", "chain ", "set ", "map ", "elements ", "flags ", "type ", "policy ", "counter"].iter().any(|p| l.starts_with(p))
            && !l.ends_with('{')
        {
            rules += 1;
        }
    }
    (rules, drop)
}

/// Rules and drop policies in `iptables-save` output.
pub fn count_iptables(text: &str) -> (usize, bool) {
    let rules = text.lines().filter(|l| l.starts_with("-A ")).count();
    let drop = text.lines().any(|l| l.starts_with(':') && l.split_whitespace().nth(1) == Some("DROP"));
    (rules, drop)
}

fn run(program: &str, args: &[&str]) -> Result<String, String> {
    let out = Command::new(program).args(args).stdin(Stdio::null()).stderr(Stdio::piped()).output().map_err(|e| format!("{program}: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!("{program}: {}", crate::text::bounded(String::from_utf8_lossy(&out.stderr).trim(), 120)))
    }
}

pub fn gather(opts: &Options) -> Evidence {
    let mut e = Evidence::default();
    for f in ["proc/net/ip_tables_names", "proc/net/ip6_tables_names"] {
        e.tables.extend(read_small(&opts.path(f)).unwrap_or_default().lines().map(|l| l.trim().to_string()).filter(|l| !l.is_empty()));
    }
    e.tables.sort();
    e.tables.dedup();
    if opts.run_commands {
        match run("nft", &["list", "ruleset"]) {
            Ok(t) => e.nft = Some(count_nft(&t)),
            Err(why) => e.unreadable.push(why),
        }
        let mut sum = (0, false);
        let mut any = false;
        for p in ["iptables-save", "ip6tables-save"] {
            match run(p, &[]) {
                Ok(t) => {
                    any = true;
                    let (n, d) = count_iptables(&t);
                    sum = (sum.0 + n, sum.1 || d);
                }
                Err(why) => e.unreadable.push(why),
            }
        }
        if any {
            e.iptables = Some(sum);
        }
    }
    e
}

pub fn judge(e: &Evidence) -> Check {
    let (id, title) = ("firewall:present", "host firewall");
    let mut seen = Vec::new();
    if let Some((n, d)) = e.nft {
        seen.push(format!("nftables: {n} rules{}", if d { ", a base chain with policy drop" } else { "" }));
    }
    if let Some((n, d)) = e.iptables {
        seen.push(format!("iptables: {n} rules{}", if d { ", a chain with policy DROP" } else { "" }));
    }
    if !e.tables.is_empty() {
        seen.push(format!("iptables tables loaded: {}", e.tables.join(", ")));
    }
    let active = e.nft.is_some_and(|(n, d)| n > 0 || d) || e.iptables.is_some_and(|(n, d)| n > 0 || d);
    let read = e.nft.is_some() || e.iptables.is_some();
    let evidence = if seen.is_empty() { "nothing readable".to_string() } else { seen.join("; ") };
    if active {
        Check::new(id, Area::Firewall, Status::Pass, title, evidence, "")
    } else if read {
        Check::new(id, Area::Firewall, Status::Fail, title, format!("{evidence}: no rules loaded"), "load a ruleset (e.g. nftables with an input chain that drops by default and accepts the services in your policy; `systemctl enable --now nftables`)").severity(Severity::Medium)
    } else {
        let why = if e.unreadable.is_empty() { String::new() } else { format!(" ({})", e.unreadable.join("; ")) };
        // Every tool missing is not the same as a tool refusing a user.
        let missing = !e.unreadable.is_empty() && e.unreadable.iter().all(|w| w.contains("No such file"));
        let fix = if missing {
            "neither nft nor iptables-save is installed: install nftables and load a ruleset that drops by default"
        } else {
            "run `necromap posture` as root so nft and iptables-save can list the rules"
        };
        Check::new(id, Area::Firewall, Status::Warn, title, format!("{evidence}: the rules could not be listed{why}"), fix)
    }
}

pub fn check(opts: &Options) -> Check {
    judge(&gather(opts))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_or_a_drop_policy_make_a_firewall() {
        let nft = "table inet filter {\n\tchain input {\n\t\ttype filter hook input priority filter; policy drop;\n\t\tct state established,related accept\n\t\ttcp dport 22 accept\n\t}\n}\n";
        assert_eq!(count_nft(nft), (2, true));
        assert_eq!(count_nft("table inet filter {\n\tchain input {\n\t\ttype filter hook input priority filter; policy accept;\n\t}\n}\n"), (0, false));
        let ipt = "*filter\n:INPUT DROP [0:0]\n:FORWARD ACCEPT [0:0]\n-A INPUT -p tcp --dport 22 -j ACCEPT\nCOMMIT\n";
        assert_eq!(count_iptables(ipt), (1, true));
        assert_eq!(judge(&Evidence { nft: Some((2, true)), ..Evidence::default() }).status, Status::Pass);
        assert_eq!(judge(&Evidence { nft: Some((0, false)), iptables: Some((0, false)), ..Evidence::default() }).status, Status::Fail);
        let unknown = judge(&Evidence { tables: vec!["filter".into()], unreadable: vec!["nft: Operation not permitted".into()], ..Evidence::default() });
        assert_eq!(unknown.status, Status::Warn);
        assert!(unknown.evidence.contains("filter") && unknown.evidence.contains("not permitted"));
        assert!(unknown.fix.contains("as root"));
        let none = judge(&Evidence { unreadable: vec!["nft: No such file or directory (os error 2)".into()], ..Evidence::default() });
        assert!(none.fix.contains("install nftables"), "{}", none.fix);
    }
}

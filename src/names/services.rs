//! Service names for ports (`443/tcp` is `https`), from `/etc/services`
//! or, when that file is missing or unreadable (minimal containers), a
//! small built-in table of the ports people ask about. Both ways round:
//! a port's name for display, a name's port for filters like `port:https`.

use std::collections::HashMap;
use std::path::Path;
use std::sync::OnceLock;

pub use crate::model::Protocol as Proto;

/// Longest service name kept; real ones are under 20 characters.
const MAX_NAME: usize = 32;

/// The built-in table: `(name, port, tcp, udp)`.
const BUILTIN: &[(&str, u16, bool, bool)] = &[
    ("ftp-data", 20, true, false),
    ("ftp", 21, true, false),
    ("ssh", 22, true, false),
    ("telnet", 23, true, false),
    ("smtp", 25, true, false),
    ("domain", 53, true, true),
    ("bootps", 67, false, true),
    ("bootpc", 68, false, true),
    ("tftp", 69, false, true),
    ("http", 80, true, false),
    ("kerberos", 88, true, true),
    ("pop3", 110, true, false),
    ("sunrpc", 111, true, true),
    ("ntp", 123, false, true),
    ("netbios-ns", 137, false, true),
    ("imap2", 143, true, false),
    ("snmp", 161, false, true),
    ("ldap", 389, true, false),
    ("https", 443, true, true),
    ("microsoft-ds", 445, true, false),
    ("submissions", 465, true, false),
    ("syslog", 514, false, true),
    ("submission", 587, true, false),
    ("ldaps", 636, true, false),
    ("domain-s", 853, true, true),
    ("imaps", 993, true, false),
    ("pop3s", 995, true, false),
    ("openvpn", 1194, true, true),
    ("ms-sql-s", 1433, true, false),
    ("mqtt", 1883, true, false),
    ("nfs", 2049, true, true),
    ("mysql", 3306, true, false),
    ("ms-wbt-server", 3389, true, false),
    ("postgresql", 5432, true, false),
    ("amqp", 5672, true, false),
    ("x11", 6000, true, false),
    ("redis", 6379, true, false),
    ("http-alt", 8080, true, false),
    ("mongodb", 27017, true, false),
    ("memcache", 11211, true, true),
];

/// Port ↔ name tables for TCP and UDP.
#[derive(Debug, Clone, Default)]
pub struct Services {
    by_port: HashMap<(u16, Proto), String>,
    by_name: HashMap<(String, Proto), u16>,
}

impl Services {
    /// The system table, read once per process: `/etc/services`, or the
    /// built-in table when that cannot be read or holds nothing.
    pub fn system() -> &'static Services {
        static SYSTEM: OnceLock<Services> = OnceLock::new();
        SYSTEM.get_or_init(|| Self::load(Path::new("/etc/services")))
    }

    /// The table from `path`, or the built-in one.
    pub fn load(path: &Path) -> Services {
        match super::file::read_small(path) {
            Ok(text) => {
                let s = Self::from_text(&text);
                if s.by_port.is_empty() { Self::builtin() } else { s }
            }
            Err(_) => Self::builtin(),
        }
    }

    /// The built-in table of about forty common ports.
    pub fn builtin() -> Services {
        let mut s = Services::default();
        for &(name, port, tcp, udp) in BUILTIN {
            if tcp {
                s.add(name, port, Proto::Tcp);
            }
            if udp {
                s.add(name, port, Proto::Udp);
            }
        }
        s
    }

    /// Parse `/etc/services` text: `name port/proto aliases… # comment`.
    /// Lines that do not fit are skipped; the first name given for a port
    /// wins (the file lists the preferred name first).
    pub fn from_text(text: &str) -> Services {
        let mut s = Services::default();
        for line in text.lines() {
            let line = line.split('#').next().unwrap_or("");
            let mut fields = line.split_whitespace();
            let (Some(name), Some(port_proto)) = (fields.next(), fields.next()) else { continue };
            let Some((port, proto)) = port_proto.split_once('/') else { continue };
            let Ok(port) = port.parse::<u16>() else { continue };
            let proto = match proto {
                "tcp" => Proto::Tcp,
                "udp" => Proto::Udp,
                _ => continue,
            };
            s.add(name, port, proto);
            for alias in fields {
                s.add_alias(alias, port, proto);
            }
        }
        s
    }

    fn valid(name: &str) -> bool {
        !name.is_empty() && name.len() <= MAX_NAME && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'+' | b'/'))
    }

    fn add(&mut self, name: &str, port: u16, proto: Proto) {
        if !Self::valid(name) {
            return;
        }
        self.by_port.entry((port, proto)).or_insert_with(|| name.to_string());
        self.add_alias(name, port, proto);
    }

    fn add_alias(&mut self, name: &str, port: u16, proto: Proto) {
        if Self::valid(name) {
            self.by_name.entry((name.to_ascii_lowercase(), proto)).or_insert(port);
        }
    }

    /// The service name of `port`, e.g. `https` for 443/tcp.
    pub fn name(&self, port: u16, proto: Proto) -> Option<&str> {
        self.by_port.get(&(port, proto)).map(String::as_str)
    }

    /// The port of a service name or alias (case-insensitive), e.g. 443 for `https`.
    pub fn port(&self, name: &str, proto: Proto) -> Option<u16> {
        self.by_name.get(&(name.to_ascii_lowercase(), proto)).copied()
    }

    /// How many (port, protocol) pairs have a name.
    pub fn len(&self) -> usize {
        self.by_port.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_port.is_empty()
    }
}

/// The service name of a socket's service port (the remote port of an
/// outbound socket, the local port of a listener or an inbound one), unless
/// the snapshot is numeric (`-n`).
pub fn service_of(snapshot: &crate::model::Snapshot, socket: &crate::model::Socket) -> Option<&'static str> {
    if snapshot.names.numeric {
        return None;
    }
    let port = match socket.direction {
        crate::model::Direction::Outbound => socket.raw.remote.port(),
        _ => socket.raw.local.port(),
    };
    Services::system().name(port, socket.raw.protocol())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_aliases_and_comments() {
        let s = Services::from_text(
            "# comment\nssh\t\t22/tcp\t\t\t\t# SSH Remote Login Protocol\nhttp 80/tcp www # WorldWideWeb\n\
             bad 99999/tcp\nweird 7/sctp\nnoport\ndomain 53/udp\nhttp2 80/tcp\n",
        );
        assert_eq!(s.name(22, Proto::Tcp), Some("ssh"));
        assert_eq!(s.name(22, Proto::Udp), None);
        assert_eq!(s.name(80, Proto::Tcp), Some("http"), "first name for a port wins");
        assert_eq!(s.port("www", Proto::Tcp), Some(80));
        assert_eq!(s.port("HTTP", Proto::Tcp), Some(80));
        assert_eq!(s.port("domain", Proto::Udp), Some(53));
        assert_eq!(s.port("domain", Proto::Tcp), None);
        assert_eq!(s.port("weird", Proto::Tcp), None);
        assert_eq!(s.len(), 3);
    }

    #[test]
    fn drops_hostile_names() {
        let s = Services::from_text("e\x1b]0;x 1/tcp\nzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz 2/tcp\n");
        assert!(s.is_empty());
    }

    #[test]
    fn builtin_has_the_common_ports() {
        let s = Services::builtin();
        assert_eq!(s.name(443, Proto::Tcp), Some("https"));
        assert_eq!(s.name(5432, Proto::Tcp), Some("postgresql"));
        assert_eq!(s.port("redis", Proto::Tcp), Some(6379));
        assert!(s.len() >= 40);
    }

    #[test]
    fn missing_file_falls_back_to_builtin() {
        let s = Services::load(Path::new("/nonexistent/services"));
        assert_eq!(s.name(22, Proto::Tcp), Some("ssh"));
        assert!(Services::system().name(22, Proto::Tcp).is_some());
    }
}

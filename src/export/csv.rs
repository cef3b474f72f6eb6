//! `snapshot --format csv`: one table per call (sockets by default).
//! Values not known are empty fields, never 0.
//! RFC 4180 quoting; control characters in host strings are written as
//! `\xNN` so a terminal showing the file cannot be driven by them.

use std::io::Write;

use super::finding_rows::FindingRow;
use super::rows::SocketRow;
use crate::model::Snapshot;
use crate::text::escape_control;

/// Which table to print.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CsvTable {
    Sockets,
    Processes,
    Endpoints,
    Listeners,
    /// One row per finding, worst first.
    Findings,
}

fn field(v: &str) -> String {
    let v = escape_control(v);
    if v.contains([',', '"', '\n', '\r']) || v.starts_with(' ') || v.ends_with(' ') { format!("\"{}\"", v.replace('"', "\"\"")) } else { v }
}

fn line(out: &mut dyn Write, values: &[String]) -> std::io::Result<()> {
    let joined: Vec<String> = values.iter().map(|v| field(v)).collect();
    writeln!(out, "{}", joined.join(","))
}

pub fn write_csv(s: &Snapshot, table: CsvTable, out: &mut dyn Write) -> std::io::Result<()> {
    let o = |v: Option<String>| v.unwrap_or_default();
    match table {
        CsvTable::Sockets => {
            line(out, &SocketRow::COLUMNS.map(String::from))?;
            for sock in &s.sockets {
                line(out, &SocketRow::new(s, sock).values())?;
            }
        }
        CsvTable::Processes => processes(s, out)?,
        CsvTable::Endpoints => {
            line(
                out,
                &["ip", "zone", "country", "ports", "connection_count", "process_count", "new_per_minute", "bytes_sent", "bytes_received", "tags"]
                    .map(String::from),
            )?;
            for e in s.endpoints.values() {
                line(
                    out,
                    &[
                        e.ip.to_string(),
                        e.zone.to_string(),
                        o(e.country.clone()),
                        e.ports.iter().map(ToString::to_string).collect::<Vec<_>>().join(" "),
                        e.connection_count.to_string(),
                        e.process_count.to_string(),
                        e.new_per_minute.to_string(),
                        e.bytes_sent.to_string(),
                        e.bytes_received.to_string(),
                        e.tags.join(" "),
                    ],
                )?;
            }
        }
        CsvTable::Listeners => {
            line(out, &["protocol", "address", "port", "wildcard", "pid", "process_name", "inode", "inbound_count"].map(String::from))?;
            for l in s.listeners.values() {
                line(
                    out,
                    &[
                        l.protocol.to_string(),
                        l.address.to_string(),
                        l.port.to_string(),
                        l.wildcard.to_string(),
                        o(l.pid.map(|p| p.to_string())),
                        o(l.process_name.clone()),
                        l.inode.to_string(),
                        l.inbound_count.to_string(),
                    ],
                )?;
            }
        }
        CsvTable::Findings => {
            line(out, &FindingRow::COLUMNS.map(String::from))?;
            for f in &s.findings {
                line(out, &FindingRow::new(s, f).values())?;
            }
        }
    }
    Ok(())
}

/// The processes table: the spec's fields, then what findings say.
fn processes(s: &Snapshot, out: &mut dyn Write) -> std::io::Result<()> {
    let o = |v: Option<String>| v.unwrap_or_default();
    line(
        out,
        &[
            "pid",
            "ppid",
            "name",
            "user",
            "uid",
            "exe",
            "exe_deleted",
            "exe_memfd",
            "has_tty",
            "stdio_sockets",
            "start_time_ms",
            "socket_count",
            "listener_count",
            "bytes_sent",
            "bytes_received",
            "cmdline",
            "severity",
            "rule_ids",
            "netns",
            "namespace",
            "container",
        ]
        .map(String::from),
    )?;
    for p in s.processes.values() {
        let f = &p.facts;
        let facts = s.index.process(f.pid());
        line(
            out,
            &[
                f.pid.to_string(),
                f.ppid.to_string(),
                f.name.clone(),
                o(f.user.clone()),
                f.uid.to_string(),
                o(f.exe.clone()),
                f.exe_deleted.to_string(),
                f.exe_memfd.to_string(),
                f.has_tty.to_string(),
                f.stdio_sockets.iter().map(ToString::to_string).collect::<Vec<_>>().join(" "),
                f.start_time_ms.to_string(),
                p.socket_count.to_string(),
                p.listener_count.to_string(),
                p.bytes_sent.to_string(),
                p.bytes_received.to_string(),
                f.cmdline.clone(),
                o(facts.map(|x| x.severity.name().to_string())),
                facts.map(|x| x.rule_ids.join(" ")).unwrap_or_default(),
                o(s.namespace_inode(f.netns).map(|n| n.to_string())),
                s.namespace_name(f.netns),
                o(f.workload.label()),
            ],
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::field;

    #[test]
    fn csv_fields_are_quoted_and_escaped() {
        assert_eq!(field("plain"), "plain");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(field("evil\x1b[31m"), "evil\\x1b[31m");
        assert_eq!(field("two\nlines"), "two\\x0alines");
    }
}

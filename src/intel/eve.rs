//! Suricata eve.json lines: one JSON object per line; alerts are kept,
//! other event types skipped. The remote party of an alert is attributed
//! as detection.md says: `flow.src_ip` (the initiator) for `to_server`,
//! `dest_ip` for `to_client`, and without a direction the side that is not
//! one of this host's addresses. Blocking `src_ip` blindly would block your
//! own upstream on `to_client` alerts.

use std::net::IpAddr;

use serde::Deserialize;

use crate::model::normalize_ip;

/// Longest signature or category kept (characters).
pub const TEXT_MAX: usize = 512;

pub use crate::model::{Alert, AlertDirection};

/// A Suricata flow record: one finished (or timed-out) flow with its
/// byte and packet counts, attributed to its remote party like an alert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flow {
    pub at_ms: i64,
    pub remote: IpAddr,
    pub proto: String,
    pub app_proto: Option<String>,
    pub bytes_toserver: u64,
    pub bytes_toclient: u64,
    pub pkts_toserver: u64,
    pub pkts_toclient: u64,
}

/// What a line holds that necromap keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EveRecord {
    Alert(Alert),
    Flow(Flow),
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EveError {
    #[error("not JSON: {0}")]
    Json(String),
    #[error("alert without {0}")]
    Missing(&'static str),
    #[error("bad timestamp `{0}`")]
    Timestamp(String),
    #[error("bad address `{0}`")]
    Address(String),
}

#[derive(Deserialize)]
struct Line<'a> {
    #[serde(borrow)]
    event_type: Option<&'a str>,
    timestamp: Option<String>,
    flow_id: Option<u64>,
    src_ip: Option<String>,
    src_port: Option<u16>,
    dest_ip: Option<String>,
    dest_port: Option<u16>,
    proto: Option<String>,
    app_proto: Option<String>,
    direction: Option<String>,
    alert: Option<AlertPart>,
    flow: Option<FlowPart>,
}

#[derive(Deserialize)]
struct AlertPart {
    action: Option<String>,
    signature_id: Option<u64>,
    signature: Option<String>,
    category: Option<String>,
    severity: Option<u8>,
}

#[derive(Deserialize)]
struct FlowPart {
    src_ip: Option<String>,
    bytes_toserver: Option<u64>,
    bytes_toclient: Option<u64>,
    pkts_toserver: Option<u64>,
    pkts_toclient: Option<u64>,
}

fn ip(text: &str) -> Result<IpAddr, EveError> {
    text.parse().map(normalize_ip).map_err(|_| EveError::Address(crate::text::bounded(text, 60)))
}

/// Parse one line. `Ok(None)` for valid lines of other event types;
/// `is_local` tells this host's addresses.
pub fn parse_line(line: &str, is_local: &dyn Fn(IpAddr) -> bool) -> Result<Option<EveRecord>, EveError> {
    let line = line.trim();
    if line.is_empty() {
        return Ok(None);
    }
    let l: Line<'_> = serde_json::from_str(line).map_err(|e| EveError::Json(e.to_string()))?;
    match l.event_type {
        Some("alert") => alert(l, is_local).map(|a| Some(EveRecord::Alert(a))),
        Some("flow") => flow(l, is_local).map(|f| Some(EveRecord::Flow(f))),
        _ => Ok(None),
    }
}

/// The remote side of a flow: the initiator (`src_ip`) unless it is this
/// host, then the responder.
fn flow(l: Line<'_>, is_local: &dyn Fn(IpAddr) -> bool) -> Result<Flow, EveError> {
    let src_ip = ip(l.src_ip.as_deref().ok_or(EveError::Missing("src_ip"))?)?;
    let dest_ip = ip(l.dest_ip.as_deref().ok_or(EveError::Missing("dest_ip"))?)?;
    let ts = l.timestamp.as_deref().ok_or(EveError::Missing("timestamp"))?;
    let at_ms = parse_timestamp(ts).ok_or_else(|| EveError::Timestamp(crate::text::bounded(ts, 60)))?;
    let part = l.flow.ok_or(EveError::Missing("flow"))?;
    Ok(Flow {
        at_ms,
        remote: if is_local(src_ip) && !is_local(dest_ip) { dest_ip } else { src_ip },
        proto: crate::text::bounded(l.proto.as_deref().unwrap_or("?"), 16),
        app_proto: l.app_proto.map(|a| crate::text::bounded(&a, 32)),
        bytes_toserver: part.bytes_toserver.unwrap_or(0),
        bytes_toclient: part.bytes_toclient.unwrap_or(0),
        pkts_toserver: part.pkts_toserver.unwrap_or(0),
        pkts_toclient: part.pkts_toclient.unwrap_or(0),
    })
}

fn alert(l: Line<'_>, is_local: &dyn Fn(IpAddr) -> bool) -> Result<Alert, EveError> {
    let a = l.alert.ok_or(EveError::Missing("alert"))?;
    let src_ip = ip(l.src_ip.as_deref().ok_or(EveError::Missing("src_ip"))?)?;
    let dest_ip = ip(l.dest_ip.as_deref().ok_or(EveError::Missing("dest_ip"))?)?;
    let ts = l.timestamp.as_deref().ok_or(EveError::Missing("timestamp"))?;
    let at_ms = parse_timestamp(ts).ok_or_else(|| EveError::Timestamp(crate::text::bounded(ts, 60)))?;
    let direction = match l.direction.as_deref() {
        Some("to_server") => Some(AlertDirection::ToServer),
        Some("to_client") => Some(AlertDirection::ToClient),
        _ => None,
    };
    let initiator = l.flow.and_then(|f| f.src_ip).map(|s| ip(&s)).transpose()?;
    let named = match direction {
        Some(AlertDirection::ToServer) => Some(initiator.unwrap_or(src_ip)),
        Some(AlertDirection::ToClient) => Some(dest_ip),
        None => None,
    };
    // The named party, unless it is this host; else the side that is not local.
    let remote = match named {
        Some(r) if !is_local(r) => r,
        _ => {
            if is_local(src_ip) && !is_local(dest_ip) {
                dest_ip
            } else {
                src_ip
            }
        }
    };
    let local = [src_ip, dest_ip].into_iter().find(|x| *x != remote && is_local(*x));
    Ok(Alert {
        at_ms,
        remote,
        local,
        src_ip,
        src_port: l.src_port,
        dest_ip,
        dest_port: l.dest_port,
        proto: crate::text::bounded(l.proto.as_deref().unwrap_or("?"), 16),
        direction,
        flow_id: l.flow_id,
        signature_id: a.signature_id.ok_or(EveError::Missing("alert.signature_id"))?,
        signature: crate::text::bounded(a.signature.as_deref().unwrap_or(""), TEXT_MAX),
        category: crate::text::bounded(a.category.as_deref().unwrap_or(""), TEXT_MAX),
        severity: a.severity.unwrap_or(3).clamp(1, 3),
        action: a.action.map(|x| crate::text::bounded(&x, 16)),
    })
}

/// `2025-11-03T14:22:07.418230+0000` (also `+00:00`, `Z`, no fraction) → Unix ms.
pub fn parse_timestamp(ts: &str) -> Option<i64> {
    let (date, rest) = ts.split_once('T')?;
    let mut parts = date.split('-');
    let (year, month, day): (i64, i64, i64) = (parts.next()?.parse().ok()?, parts.next()?.parse().ok()?, parts.next()?.parse().ok()?);
    let zone_at = rest.find(['+', '-', 'Z']).unwrap_or(rest.len());
    let (time, zone) = rest.split_at(zone_at);
    let (hms, frac) = time.split_once('.').unwrap_or((time, ""));
    let mut t = hms.split(':');
    let (hh, mm, ss): (i64, i64, i64) = (t.next()?.parse().ok()?, t.next()?.parse().ok()?, t.next()?.parse().ok()?);
    // Years outside 0..=9999 are not timestamps (and would overflow the
    // arithmetic below); negative fields are refused too ("-1" parses).
    if !(0..=9999).contains(&year)
        || !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || !(0..=23).contains(&hh)
        || !(0..=59).contains(&mm)
        || !(0..=60).contains(&ss)
    {
        return None;
    }
    let millis: i64 = if frac.is_empty() {
        0
    } else {
        let digits: String = frac.chars().take(3).collect();
        if !digits.chars().all(|c| c.is_ascii_digit()) {
            return None;
        }
        format!("{digits:0<3}").parse().ok()?
    };
    let offset_min = match zone {
        "" | "Z" => 0,
        z => {
            let sign = if z.starts_with('-') { -1 } else { 1 };
            let digits: String = z[1..].chars().filter(char::is_ascii_digit).collect();
            if digits.len() != 4 {
                return None;
            }
            sign * (digits[..2].parse::<i64>().ok()? * 60 + digits[2..].parse::<i64>().ok()?)
        }
    };
    let days = days_from_civil(year, month, day);
    // Checked even though the ranges above keep it small: a hostile eve
    // file must never panic a debug build.
    days.checked_mul(86_400)?.checked_add(hh * 3600 + mm * 60 + ss)?.checked_sub(offset_min.checked_mul(60)?)?.checked_mul(1000)?.checked_add(millis)
}

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    fn local(ip: IpAddr) -> bool {
        ip == "10.0.0.5".parse::<IpAddr>().expect("ip") || ip.is_loopback()
    }

    #[test]
    fn timestamps() {
        assert_eq!(parse_timestamp("1970-01-01T00:00:00.000000+0000"), Some(0));
        assert_eq!(parse_timestamp("2026-11-01T12:00:00.418230+0000"), Some(1_793_534_400_418));
        assert_eq!(parse_timestamp("2026-11-01T14:00:00+02:00"), Some(1_793_534_400_000));
        assert_eq!(parse_timestamp("2026-11-01T12:00:00Z"), Some(1_793_534_400_000));
        assert_eq!(parse_timestamp("2026-13-01T12:00:00Z"), None);
        assert_eq!(parse_timestamp("yesterday"), None);
    }

    #[test]
    fn absurd_years_are_refused_without_overflow() {
        assert_eq!(parse_timestamp("9223372036854775807-01-01T00:00:00Z"), None);
        assert_eq!(parse_timestamp("-9223372036854775808-01-01T00:00:00Z"), None);
        assert_eq!(parse_timestamp("99999999999-12-31T23:59:60+9999"), None);
        assert_eq!(parse_timestamp("2026-11-01T-1:00:00Z"), None);
        assert_eq!(parse_timestamp("9999-12-31T23:59:59.999-9959").map(|t| t > 0), Some(true));
        let line = r#"{"timestamp":"9223372036854775807-01-01T00:00:00Z","event_type":"alert","src_ip":"1.2.3.4","dest_ip":"10.0.0.5","proto":"TCP","alert":{"signature":"x"}}"#;
        let _ = parse_line(line, &local);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]
        #[test]
        fn parse_line_never_panics(line in ".{0,300}") {
            let _ = parse_line(&line, &local);
        }

        #[test]
        fn parse_timestamp_never_panics(ts in "[-+0-9TZ:.]{0,40}") {
            let _ = parse_timestamp(&ts);
        }

        #[test]
        fn eve_like_lines_never_panic(ts in "-?[0-9]{1,20}-[0-9]{1,3}-[0-9]{1,3}T[0-9]{1,3}:[0-9]{1,3}:[0-9]{1,3}(\\.[0-9]{0,9})?([+-][0-9]{2}:?[0-9]{2}|Z)?") {
            let line = format!(r#"{{"timestamp":"{ts}","event_type":"alert","src_ip":"1.2.3.4","dest_ip":"10.0.0.5","proto":"TCP","alert":{{"signature":"x"}}}}"#);
            let _ = parse_line(&line, &local);
        }
    }

    #[test]
    fn an_inbound_alert_names_the_initiator() {
        let line = r#"{"timestamp":"2026-11-01T12:00:00.000000+0000","flow_id":7,"event_type":"alert","src_ip":"203.0.113.45","src_port":51234,"dest_ip":"10.0.0.5","dest_port":22,"proto":"TCP","direction":"to_server","flow":{"src_ip":"203.0.113.45","dest_ip":"10.0.0.5"},"alert":{"action":"allowed","gid":1,"signature_id":2001219,"rev":20,"signature":"ET SCAN Potential SSH Scan","category":"Attempted Information Leak","severity":2}}"#;
        let Some(EveRecord::Alert(a)) = parse_line(line, &local).expect("valid") else { panic!("alert") };
        assert_eq!(a.remote.to_string(), "203.0.113.45");
        assert_eq!(a.local.map(|l| l.to_string()).as_deref(), Some("10.0.0.5"));
        assert_eq!((a.signature_id, a.severity, a.dest_port), (2_001_219, 2, Some(22)));
    }

    #[test]
    fn a_to_client_alert_names_the_other_side_not_the_source() {
        // Our host fetched something bad: the server's answer (src) triggers.
        let line = r#"{"timestamp":"2026-11-01T12:00:00+0000","event_type":"alert","src_ip":"198.51.100.7","src_port":80,"dest_ip":"10.0.0.5","dest_port":40000,"proto":"TCP","direction":"to_client","flow":{"src_ip":"10.0.0.5","dest_ip":"198.51.100.7"},"alert":{"signature_id":1,"signature":"ET MALWARE payload","category":"A Network Trojan was detected","severity":1}}"#;
        let Some(EveRecord::Alert(a)) = parse_line(line, &local).expect("valid") else { panic!("alert") };
        // dest_ip (10.0.0.5) is this host, so the remote is the other side.
        assert_eq!(a.remote.to_string(), "198.51.100.7");
        assert_eq!(a.direction, Some(AlertDirection::ToClient));
    }

    #[test]
    fn icmp_alerts_have_no_ports_and_no_direction() {
        let line = r#"{"timestamp":"2026-11-01T12:00:00+0000","event_type":"alert","src_ip":"10.0.0.5","dest_ip":"192.0.2.9","proto":"ICMP","icmp_type":8,"alert":{"signature_id":3,"signature":"GPL ICMP PING","category":"Misc activity","severity":3}}"#;
        let Some(EveRecord::Alert(a)) = parse_line(line, &local).expect("valid") else { panic!("alert") };
        assert_eq!(a.remote.to_string(), "192.0.2.9");
        assert_eq!((a.src_port, a.dest_port), (None, None));
    }

    #[test]
    fn other_events_and_bad_lines() {
        assert_eq!(parse_line(r#"{"event_type":"dns","src_ip":"192.0.2.1"}"#, &local), Ok(None));
        let flow = r#"{"timestamp":"2026-11-01T12:00:00+0000","event_type":"flow","src_ip":"10.0.0.5","src_port":40000,"dest_ip":"192.0.2.80","dest_port":443,"proto":"TCP","app_proto":"tls","flow":{"pkts_toserver":12,"pkts_toclient":10,"bytes_toserver":1500,"bytes_toclient":90000}}"#;
        let Some(EveRecord::Flow(f)) = parse_line(flow, &local).expect("valid") else { panic!("flow") };
        assert_eq!((f.remote.to_string().as_str(), f.bytes_toclient, f.app_proto.as_deref()), ("192.0.2.80", 90_000, Some("tls")));
        assert_eq!(parse_line("", &local), Ok(None));
        assert!(matches!(parse_line("{not json", &local), Err(EveError::Json(_))));
        assert!(matches!(
            parse_line(r#"{"event_type":"alert","timestamp":"2026-11-01T12:00:00Z","src_ip":"x","dest_ip":"192.0.2.1","alert":{"signature_id":1}}"#, &local),
            Err(EveError::Address(_))
        ));
        assert!(matches!(parse_line(r#"{"event_type":"alert"}"#, &local), Err(EveError::Missing("alert"))));
    }
}

//! A DNS response read off the wire, reduced to what names need: which
//! addresses the asked name resolved to, through which CNAMEs. The message
//! is decoded by hickory-proto; every name that comes out is checked (at
//! most 253 bytes, escaped) because the network chooses it.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

use hickory_proto::op::{Message, MessageType, ResponseCode};
use hickory_proto::rr::{Name, RData};

/// Longest DNS name kept (RFC 1035: 253 characters in text form).
pub const MAX_NAME: usize = 253;
/// Most address records taken from one answer (a real one has a few dozen).
const MAX_RECORDS: usize = 64;
/// Longest CNAME chain followed (resolvers stop near 8–16).
const MAX_CHAIN: usize = 16;

/// One address of an answer.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AnswerRecord {
    /// The owner name of the A/AAAA record (the end of any CNAME chain).
    pub name: String,
    pub addr: IpAddr,
    pub ttl: u32,
}

/// A positive DNS response: the question and the addresses it led to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DnsAnswer {
    /// The querier: the response's destination.
    pub client: SocketAddr,
    /// The server that answered: the response's source.
    pub server: SocketAddr,
    /// The name asked for.
    pub qname: String,
    /// The addresses whose owner is `qname` or reachable from it by CNAMEs.
    pub records: Vec<AnswerRecord>,
    /// `(alias, canonical)` pairs on the chain from `qname`, in order.
    pub cnames: Vec<(String, String)>,
    /// The DNS message id (tells loopback duplicates from new answers).
    pub id: u16,
}

impl DnsAnswer {
    /// Every name an address of this answer is known by: the asked name
    /// first, then the canonical names along the chain, then the owner.
    pub fn names_for(&self, record: &AnswerRecord) -> Vec<String> {
        let mut out = vec![self.qname.clone()];
        for (_, canonical) in &self.cnames {
            if !out.contains(canonical) {
                out.push(canonical.clone());
            }
        }
        if !out.contains(&record.name) {
            out.push(record.name.clone());
        }
        out
    }
}

/// A network name as shown text: lowercase, no trailing dot, control
/// characters escaped; `None` when empty or longer than [`MAX_NAME`].
pub fn clean_name(name: &Name) -> Option<String> {
    let ascii = name.to_ascii();
    let trimmed = ascii.strip_suffix('.').unwrap_or(&ascii);
    let out = crate::text::escape_control(&trimmed.to_ascii_lowercase());
    (!out.is_empty() && out.len() <= MAX_NAME).then_some(out)
}

/// The answer in a DNS message sent from `server` to `client`: `None`
/// unless it is a NOERROR response to a single question with at least one
/// A or AAAA record for the asked name (directly or through CNAMEs).
pub fn parse_message(bytes: &[u8], client: SocketAddr, server: SocketAddr) -> Option<DnsAnswer> {
    let message = Message::from_vec(bytes).ok()?;
    if message.metadata.message_type != MessageType::Response || message.metadata.response_code != ResponseCode::NoError {
        return None;
    }
    let [query] = message.queries.as_slice() else { return None };
    let qname = clean_name(&query.name)?;
    // The answer section as (owner → canonical) and (owner → addresses).
    let mut aliases: HashMap<String, String> = HashMap::new();
    let mut addresses: HashMap<String, Vec<(IpAddr, u32)>> = HashMap::new();
    for record in message.answers.iter().take(MAX_RECORDS * 2) {
        let addr = match &record.data {
            RData::A(a) => IpAddr::V4(a.0),
            RData::AAAA(a) => IpAddr::V6(a.0),
            RData::CNAME(c) => {
                if let (Some(owner), Some(target)) = (clean_name(&record.name), clean_name(&c.0)) {
                    aliases.entry(owner).or_insert(target);
                }
                continue;
            }
            _ => continue,
        };
        if let Some(owner) = clean_name(&record.name) {
            addresses.entry(owner).or_default().push((addr, record.ttl));
        }
    }
    // Follow the chain from the asked name, once round any loop.
    let mut cnames = Vec::new();
    let mut chain = vec![qname.clone()];
    let mut at = qname.clone();
    while let Some(next) = aliases.get(&at) {
        if chain.contains(next) || chain.len() > MAX_CHAIN {
            break;
        }
        cnames.push((at.clone(), next.clone()));
        chain.push(next.clone());
        at = next.clone();
    }
    let mut records = Vec::new();
    for owner in &chain {
        for &(addr, ttl) in addresses.get(owner).map(Vec::as_slice).unwrap_or_default() {
            if records.len() < MAX_RECORDS {
                records.push(AnswerRecord { name: owner.clone(), addr, ttl });
            }
        }
    }
    if records.is_empty() {
        return None;
    }
    Some(DnsAnswer { client, server, qname, records, cnames, id: message.metadata.id })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use hickory_proto::op::{OpCode, Query};
    use hickory_proto::rr::rdata::{A, AAAA, CNAME};
    use hickory_proto::rr::{Record, RecordType};
    use std::str::FromStr;

    pub fn name(s: &str) -> Name {
        Name::from_str(s).expect("name")
    }

    pub fn client() -> SocketAddr {
        "127.0.0.1:40000".parse().expect("addr")
    }

    pub fn server() -> SocketAddr {
        "127.0.0.53:53".parse().expect("addr")
    }

    /// A response for `www.example.com` through two CNAMEs to two addresses.
    pub fn cdn_answer() -> Vec<u8> {
        let mut m = Message::response(0x1234, OpCode::Query);
        m.add_query(Query::query(name("www.example.com."), RecordType::A));
        m.add_answer(Record::from_rdata(name("www.example.com."), 300, RData::CNAME(CNAME(name("www.example.com.cdn.net.")))));
        m.add_answer(Record::from_rdata(name("www.example.com.cdn.net."), 60, RData::CNAME(CNAME(name("edge7.cdn.net.")))));
        m.add_answer(Record::from_rdata(name("edge7.cdn.net."), 20, RData::A(A::new(93, 184, 216, 34))));
        m.add_answer(Record::from_rdata(name("edge7.cdn.net."), 20, RData::AAAA(AAAA::new(0x2606, 0x2800, 0x220, 1, 0x248, 0x1893, 0x25c8, 0x1946))));
        // Not on the chain: ignored.
        m.add_answer(Record::from_rdata(name("other.example."), 20, RData::A(A::new(10, 9, 9, 9))));
        m.to_vec().expect("encode")
    }

    #[test]
    fn follows_cname_chains() {
        let a = parse_message(&cdn_answer(), client(), server()).expect("answer");
        assert_eq!(a.qname, "www.example.com");
        assert_eq!(a.id, 0x1234);
        assert_eq!(a.records.len(), 2);
        assert_eq!(a.records[0].addr, IpAddr::from([93, 184, 216, 34]));
        assert_eq!(a.records[0].name, "edge7.cdn.net");
        assert_eq!(a.records[0].ttl, 20);
        assert_eq!(
            a.cnames,
            vec![("www.example.com".to_string(), "www.example.com.cdn.net".to_string()), ("www.example.com.cdn.net".to_string(), "edge7.cdn.net".to_string())]
        );
        assert_eq!(a.names_for(&a.records[0]), vec!["www.example.com", "www.example.com.cdn.net", "edge7.cdn.net"]);
    }

    #[test]
    fn cname_loops_end() {
        let mut m = Message::response(1, OpCode::Query);
        m.add_query(Query::query(name("a.test."), RecordType::A));
        m.add_answer(Record::from_rdata(name("a.test."), 1, RData::CNAME(CNAME(name("b.test.")))));
        m.add_answer(Record::from_rdata(name("b.test."), 1, RData::CNAME(CNAME(name("a.test.")))));
        m.add_answer(Record::from_rdata(name("b.test."), 1, RData::A(A::new(127, 0, 0, 9))));
        let a = parse_message(&m.to_vec().expect("encode"), client(), server()).expect("answer");
        assert_eq!(a.cnames.len(), 1);
        assert_eq!(a.records.len(), 1);
    }

    #[test]
    fn refuses_queries_errors_and_empty_answers() {
        let mut q = Message::new(1, MessageType::Query, OpCode::Query);
        q.add_query(Query::query(name("a.test."), RecordType::A));
        q.add_answer(Record::from_rdata(name("a.test."), 1, RData::A(A::new(127, 0, 0, 9))));
        assert!(parse_message(&q.to_vec().expect("encode"), client(), server()).is_none(), "a query is not an answer");
        let mut e = Message::error_msg(1, OpCode::Query, ResponseCode::NXDomain);
        e.add_query(Query::query(name("a.test."), RecordType::A));
        assert!(parse_message(&e.to_vec().expect("encode"), client(), server()).is_none());
        let mut n = Message::response(1, OpCode::Query);
        n.add_query(Query::query(name("a.test."), RecordType::A));
        assert!(parse_message(&n.to_vec().expect("encode"), client(), server()).is_none());
        assert!(parse_message(b"", client(), server()).is_none());
    }

    #[test]
    fn hostile_names_are_escaped() {
        let mut m = Message::response(1, OpCode::Query);
        let evil = Name::from_labels(vec![b"x\x1b]0;t\x07".to_vec(), b"test".to_vec()]).expect("labels");
        m.add_query(Query::query(evil.clone(), RecordType::A));
        m.add_answer(Record::from_rdata(evil, 1, RData::A(A::new(127, 0, 0, 9))));
        let a = parse_message(&m.to_vec().expect("encode"), client(), server()).expect("answer");
        assert!(!a.qname.chars().any(crate::text::is_unsafe), "{:?}", a.qname);
    }
}

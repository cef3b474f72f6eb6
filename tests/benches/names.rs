//! Names benchmark (root): DNS answers at a fixed rate over loopback,
//! read by passive capture (packet socket, BPF filter, parse, asker
//! lookup, cache insert), and the cost of a cache lookup.
//!
//! ```text
//! cargo bench --bench names
//! NECROMAP_NAMES_RATE=20000 NECROMAP_NAMES_SECS=5 cargo bench --bench names
//! ```
//!
//! Each answer is distinct (its own name and address), sent from
//! 127.0.0.x:53 to a sink socket of the benchmark, so an answer counts as
//! received when its address has its name in the cache. Yardsticks from
//! the same run: the sink socket's own count of the same datagrams (what
//! the kernel delivered to an ordinary socket), and a `HashMap` lookup of
//! the same addresses. Target: at most 1% lost at 10,000 answers/s.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hickory_proto::op::{Message, OpCode, Query};
use hickory_proto::rr::rdata::A;
use hickory_proto::rr::{Name, RData, Record, RecordType};
use necromap::names::{AnswerRecord, DnsAnswer, NameOptions, NameSource, Names};

#[path = "measure.rs"]
mod measure;
use measure::{ms, peak_rss_mib, reset_peak_rss};

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

/// The address of answer `i`: distinct for 16 million answers.
fn addr(i: u64) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(10, (i >> 16) as u8, (i >> 8) as u8, i as u8))
}

fn qname(i: u64) -> String {
    format!("h{i}.bench.test")
}

fn answer_bytes(i: u64) -> Vec<u8> {
    let name = Name::from_str(&format!("{}.", qname(i))).expect("name");
    let mut m = Message::response(i as u16, OpCode::Query);
    m.add_query(Query::query(name.clone(), RecordType::A));
    let IpAddr::V4(v4) = addr(i) else { unreachable!() };
    m.add_answer(Record::from_rdata(name, 300, RData::A(A(v4))));
    m.to_vec().expect("encode")
}

/// CPU time (user + system) of this process's thread named `comm`, in ms.
fn thread_cpu_ms(comm: &str) -> f64 {
    let tick = 1000.0 / rustix::param::clock_ticks_per_second() as f64;
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else { return f64::NAN };
    for task in tasks.flatten() {
        if std::fs::read_to_string(task.path().join("comm")).is_ok_and(|c| c.trim() == comm) {
            let stat = std::fs::read_to_string(task.path().join("stat")).unwrap_or_default();
            let after = stat.rsplit_once(')').map_or("", |(_, r)| r);
            let f: Vec<&str> = after.split_whitespace().collect();
            let ticks: f64 = [11, 12].iter().filter_map(|&i| f.get(i)?.parse::<f64>().ok()).sum();
            return ticks * tick;
        }
    }
    f64::NAN
}

fn main() {
    if !rustix::process::geteuid().is_root() {
        println!("names benchmark NOT completed: passive capture needs root");
        std::process::exit(1);
    }
    let rate = env_or("NECROMAP_NAMES_RATE", 10_000).max(1);
    let secs = env_or("NECROMAP_NAMES_SECS", 5).max(1);
    println!("necromap names benchmark · {rate} answers/s · {secs} s · {} cores", std::thread::available_parallelism().map_or(1, usize::from));
    capture(rate, secs);
    lookups(100_000);
    refresh_with_lookups_in_flight(100_000);
}

/// The refresh path's share of naming (`Naming::observe`: a cache lookup
/// per remote address, a queued PTR request for each unnamed one) with
/// 50,000 public addresses waiting on a DNS server that never answers,
/// against the same refreshes with names off, in the same run.
fn refresh_with_lookups_in_flight(n: usize) {
    use necromap::collect::naming::Naming;
    use necromap::collect::owners::OwnerCache;
    use necromap::model::{Protocol, RawSocket, SocketKey, SocketState};
    let silent = UdpSocket::bind("127.0.0.1:0").expect("a DNS server that never answers");
    let sockets: Vec<RawSocket> = (0..n)
        .map(|i| RawSocket {
            key: SocketKey { protocol: Protocol::Tcp, cookie: i as u64 + 1 },
            state: SocketState::Established,
            local: ([10, 0, 0, 5], 20_000 + (i % 40_000) as u16).into(),
            remote: (IpAddr::V4(Ipv4Addr::new(203, 0, ((i / 2) / 250 % 250) as u8, ((i / 2) % 250) as u8)), 443).into(),
            inode: i as u32 + 1,
            uid: 1000,
            owners: necromap::model::Owners::default(),
            tcp: None,
            recv_queue: 0,
            send_queue: 0,
            netns: None,
        })
        .collect();
    let owners = OwnerCache::new();
    let time = |naming: &mut Naming| -> f64 {
        let mut total = 0.0;
        for r in 0..5 {
            let t = Instant::now();
            let facts = naming.observe(&sockets, &[], &owners, now_ms() + r);
            total += ms(t);
            assert!(facts.names.is_empty());
        }
        total / 5.0
    };
    let mut off = Naming::new(Names::off());
    let off_ms = time(&mut off);
    let names = Names::start(NameOptions {
        passive: false,
        reverse: true,
        dns_server: Some(silent.local_addr().expect("addr")),
        hosts_file: None,
        ..NameOptions::default()
    });
    let mut on = Naming::new(names.clone());
    let on_ms = time(&mut on);
    let st = names.stats();
    // Names on with nothing to ask (reverse lookups off): the same cache
    // lookups, no queue. The difference is what lookups in flight cost.
    let idle = Names::start(NameOptions { passive: false, reverse: false, hosts_file: None, ..NameOptions::default() });
    let mut quiet = Naming::new(idle);
    let quiet_ms = time(&mut quiet);
    println!(
        "refresh path:     {n} sockets, {} distinct public remotes: {on_ms:.1} ms a refresh with PTR lookups in flight ({} queued, {} dropped from the full queue, {} sent) vs {quiet_ms:.1} ms with names on and nothing in flight (ratio {:.2}) and {off_ms:.1} ms with names off (ratio {:.2})",
        sockets.iter().map(|s| s.remote.ip()).collect::<std::collections::HashSet<_>>().len(),
        st.ptr_wanted,
        st.ptr_dropped,
        st.ptr_sent,
        on_ms / quiet_ms.max(0.001),
        on_ms / off_ms.max(0.001)
    );
}

fn capture(rate: u64, secs: u64) {
    // The sender needs source port 53 (the capture filter's rule), on an
    // address of its own in 127/8.
    let Some(sender) = (180..=200).find_map(|last| UdpSocket::bind((Ipv4Addr::new(127, 0, 0, last), 53)).ok()) else {
        println!("no free 127.0.0.x:53 for the sender");
        std::process::exit(1);
    };
    let sink = UdpSocket::bind("127.0.0.1:0").expect("sink");
    sink.set_read_timeout(Some(Duration::from_millis(50))).expect("timeout");
    let sink_addr = sink.local_addr().expect("sink addr");
    let stop = Arc::new(AtomicBool::new(false));
    let delivered = Arc::new(AtomicU64::new(0));
    let reader = {
        let (stop, delivered) = (Arc::clone(&stop), Arc::clone(&delivered));
        std::thread::spawn(move || {
            let mut buf = [0u8; 1500];
            while !stop.load(Ordering::Relaxed) {
                if sink.recv(&mut buf).is_ok() {
                    delivered.fetch_add(1, Ordering::Relaxed);
                }
            }
        })
    };

    let total = rate * secs;
    let packets: Vec<Vec<u8>> = (0..total).map(answer_bytes).collect();
    reset_peak_rss();
    let names = Names::start(NameOptions { passive: true, reverse: false, hosts_file: None, cache_cap: total as usize * 2, ..NameOptions::default() });
    println!("{}", names.health().join("\n"));
    // The thread names itself once running: wait for it.
    let wait_until = Instant::now() + Duration::from_secs(5);
    let mut cpu_before = thread_cpu_ms("names-capture");
    while cpu_before.is_nan() && Instant::now() < wait_until {
        std::thread::sleep(Duration::from_millis(10));
        cpu_before = thread_cpu_ms("names-capture");
    }

    // Paced by the clock: answer i leaves at i / rate seconds.
    let started = Instant::now();
    let mut sent = 0u64;
    let mut send_errors = 0u64;
    while sent < total {
        let due = ((started.elapsed().as_secs_f64() * rate as f64) as u64).min(total);
        while sent < due {
            if sender.send_to(&packets[sent as usize], sink_addr).is_err() {
                send_errors += 1;
            }
            sent += 1;
        }
        std::thread::sleep(Duration::from_micros(200));
    }
    let send_ms = ms(started);

    // Wait until the capture thread has caught up (no new answers for 300 ms).
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut last = names.stats().answers;
    let mut quiet = Instant::now();
    while Instant::now() < deadline && quiet.elapsed() < Duration::from_millis(300) {
        std::thread::sleep(Duration::from_millis(20));
        let now = names.stats().answers;
        if now != last {
            last = now;
            quiet = Instant::now();
        }
    }
    let drain_ms = ms(started) - send_ms;
    let cpu_ms = thread_cpu_ms("names-capture") - cpu_before;
    stop.store(true, Ordering::Relaxed);
    let _ = reader.join();

    let now = now_ms();
    let received =
        (0..total).filter(|&i| names.lookup(addr(i), now).is_some_and(|r| r.names[0] == qname(i) && r.source == NameSource::DnsAnswer)).count() as u64;
    let stats = names.stats();
    let delivered = delivered.load(Ordering::Relaxed);
    let loss = 1.0 - received as f64 / total as f64;
    println!("sent:             {sent} answers in {send_ms:.0} ms ({:.0}/s), {send_errors} send errors", sent as f64 * 1000.0 / send_ms);
    println!("yardstick:        the sink socket received {delivered} of them ({:.4} of sent)", delivered as f64 / total as f64);
    println!(
        "captured:         {received} of {total} named in the cache (ratio {:.4}, loss {:.2}%; {:.4} of what the sink received), caught up {drain_ms:.0} ms after the last send (300 of them the quiet wait)",
        received as f64 / total as f64,
        loss * 100.0,
        received as f64 / delivered.max(1) as f64
    );
    println!(
        "capture thread:   {} packets ({} loopback echoes), {} answers, {} not answers, askers found {} / missing {}, {cpu_ms:.0} ms CPU ({:.1} µs per packet)",
        stats.packets,
        stats.duplicates,
        stats.answers,
        stats.not_answers,
        stats.asker_found,
        stats.asker_missing,
        cpu_ms * 1000.0 / stats.packets.max(1) as f64
    );
    println!(
        "cache:            {} addresses, {} evicted, {} queries in the ring; peak RSS {:.0} MiB",
        stats.cached,
        stats.evicted,
        names.queries_since(0).len(),
        peak_rss_mib()
    );
    drop(names);
    assert!(loss <= 0.01, "lost {:.2}% of the answers at {rate}/s (target: at most 1%)", loss * 100.0);
}

fn lookups(n: u64) {
    let names = Names::start(NameOptions { passive: false, reverse: false, hosts_file: None, ..NameOptions::default() });
    let client: SocketAddr = "127.0.0.1:4000".parse().expect("addr");
    let server: SocketAddr = "127.0.0.53:53".parse().expect("addr");
    let now = now_ms();
    let t = Instant::now();
    for i in 0..n {
        let answer = DnsAnswer {
            client,
            server,
            qname: qname(i),
            records: vec![AnswerRecord { name: qname(i), addr: addr(i), ttl: 300 }],
            cnames: vec![],
            id: i as u16,
        };
        names.insert_answer(&answer, None, now);
    }
    let insert_ms = ms(t);
    let t = Instant::now();
    let found = (0..n).filter(|&i| names.lookup(addr(i), now).is_some()).count();
    let lookup_ms = ms(t);
    // Yardstick: the same addresses in a plain HashMap of names.
    let map: HashMap<IpAddr, Vec<String>> = (0..n).map(|i| (addr(i), vec![qname(i)])).collect();
    let t = Instant::now();
    let map_found = (0..n).filter(|&i| map.get(&addr(i)).cloned().is_some()).count();
    let map_ms = ms(t);
    let per = |total_ms: f64| total_ms * 1e6 / n as f64;
    println!("cache inserts:    {n} answers in {insert_ms:.1} ms ({:.0} ns each, through Names::insert_answer)", per(insert_ms));
    println!(
        "lookups:          {found} of {n} found in {lookup_ms:.1} ms ({:.0} ns each); HashMap yardstick {map_found} in {map_ms:.1} ms ({:.0} ns each); ratio {:.2}",
        per(lookup_ms),
        per(map_ms),
        lookup_ms / map_ms
    );
    assert_eq!(found as u64, n);
}

//! Namespace benchmark (root): the same socket count in one new network
//! namespace and spread over fifty, read by necromap's steady refresh and
//! by `ss -tan` entered into each namespace, in the same run, with ratios.
//!
//! ```text
//! cargo bench --bench netns                     # 1x10000 then 50x200
//! cargo bench --bench netns -- 1x10000,100x100  # NAMESPACESxSOCKETS cases
//! cargo bench --bench netns -- 1x10000,50x200,50x3  # + the per-namespace floor
//! ```
//!
//! Each namespace is made by a holder child: `unshare -n` running this
//! binary with `NECROMAP_NETNS_HOLDER` set, which brings `lo` up and holds
//! SOCKETS/2 loopback connections, both ends, plus their listener. Holders
//! close with `SO_LINGER` 0, exit when their stdin closes or after 15
//! minutes, and are killed and reaped by pid by a guard (also on panic); a
//! namespace made by `unshare -n` dies with its only process. The first case
//! is the yardstick of the headline: every later case's steady refresh
//! over the first's, and the same for `ss`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use necromap::collect::netlink::DiagSocket;
use necromap::collect::netns::{Sightings, within};
use necromap::collect::procfs::RealProcFs;
use necromap::collect::{LinuxSource, Source};
use necromap::model::{NamespaceStatus, NetNs, Snapshot, SnapshotBuilder};
use necromap::rules::{Engine, IocSet, RuleSet};
use necromap::spec::Spec;

#[path = "measure.rs"]
mod measure;
use measure::{median, ms, peak_rss_mib, raise_fd_limit, reset_peak_rss};

const HOLDER_ENV: &str = "NECROMAP_NETNS_HOLDER";
/// Steady refreshes timed per case.
const ROUNDS: usize = 15;
/// `ss` passes per case (each pass enters every namespace once).
const SS_ROUNDS: usize = 9;
/// How long a case may take to show every holder's sockets.
const SETTLE: Duration = Duration::from_secs(30);

fn main() {
    if let Ok(conns) = std::env::var(HOLDER_ENV) {
        holder(conns.parse().unwrap_or(0));
    }
    if let Err(e) = run() {
        println!("\nnetns benchmark NOT completed: {e}");
        std::process::exit(1);
    }
}

/// One case: `namespaces` holders of `sockets` each.
#[derive(Debug, Clone, Copy)]
struct Case {
    namespaces: usize,
    sockets: usize,
}

/// What one case measured (medians, ms).
#[derive(Debug)]
struct Figures {
    case: Case,
    seen: u64,
    stages: [f64; 6],
    cold: f64,
    scan: f64,
    ns_dumps: f64,
    host_dump: f64,
    ss: f64,
    ss_seen: u64,
    nsenter: f64,
    peak_mib: f64,
}

fn run() -> Result<(), String> {
    if !rustix::process::geteuid().is_root() {
        return Err("making and entering network namespaces needs root".into());
    }
    for tool in ["unshare", "nsenter", "ip", "ss"] {
        if Command::new(tool).arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status().is_err() {
            return Err(format!("`{tool}` is not installed"));
        }
    }
    let cases = parse_cases()?;
    let hard = raise_fd_limit();
    let need = cases.iter().map(|c| c.sockets + 64).max().unwrap_or(0) as u64;
    if hard < need {
        return Err(format!("fd limit {hard} is below the {need} a holder needs"));
    }
    println!("necromap namespace benchmark · fd limit {hard} · {} cores", std::thread::available_parallelism().map_or(1, usize::from));
    // Every namespace's TCP dump walks this table (the kernel skips other
    // namespaces' sockets): it is host-wide unless new namespaces get
    // their own (net.ipv4.tcp_child_ehash_entries, Linux 6.1+).
    let sysctl = |k: &str| std::fs::read_to_string(format!("/proc/sys/net/ipv4/{k}")).map_or_else(|_| "?".into(), |v| v.trim().to_string());
    println!(
        "TCP established hash: {} buckets; tcp_child_ehash_entries {} (0: new namespaces share it)",
        sysctl("tcp_ehash_entries"),
        sysctl("tcp_child_ehash_entries")
    );
    println!("medians of {ROUNDS} steady refreshes (ss: {SS_ROUNDS} passes, each entering every namespace); sockets counted in the new namespaces only\n");
    println!(
        "{:>10} {:>8} | {:>7} {:>7} {:>7} {:>7} {:>7} {:>8} | {:>7} | {:>8} {:>8} {:>8} | {:>8} {:>8} {:>8} | {:>8} | {:>7}",
        "case",
        "sockets",
        "dump",
        "owners",
        "facts",
        "graph",
        "rules",
        "steady",
        "cold",
        "ns scan",
        "ns dumps",
        "own dump",
        "ss -tan",
        "nsenter",
        "ss saw",
        "vs ss",
        "peak MiB"
    );
    let mut all = Vec::new();
    for case in cases {
        let f = run_case(case).map_err(|e| format!("case {}x{} could not be set up: {e}", case.namespaces, case.sockets))?;
        print_row(&f);
        all.push(f);
    }
    println!(
        "\nns scan: Sightings::scan (/proc/*/ns/net + /run/netns, part of dump); ns dumps: one sock_diag dump_all per new namespace, in sequence (part of dump);"
    );
    println!("own dump: the observer's namespace; nsenter: `nsenter -n true` per namespace (exec cost inside `ss -tan`); ss saw: lines of its output");
    if let Some((base, rest)) = all.split_first() {
        for f in rest {
            let steady = f.stages[5] / base.stages[5];
            // The target compares equal socket counts only.
            let verdict = match (f.seen.abs_diff(base.seen) * 100 <= base.seen, steady <= 2.0) {
                (false, _) => " (other socket count: no target)",
                (true, true) => " (within the 2.0x target)",
                (true, false) => " (OVER the 2.0x target)",
            };
            println!(
                "\n{}x{} over {}x{}: necromap steady {steady:.2}x{verdict}, dump {:.2}x; ss -tan {:.2}x",
                f.case.namespaces,
                f.case.sockets,
                base.case.namespaces,
                base.case.sockets,
                f.stages[0] / base.stages[0],
                f.ss / base.ss
            );
        }
    }
    Ok(())
}

/// `NAMESPACESxSOCKETS,...` from the first free argument.
fn parse_cases() -> Result<Vec<Case>, String> {
    let Some(arg) = std::env::args().skip(1).find(|a| !a.starts_with('-')) else {
        return Ok(vec![Case { namespaces: 1, sockets: 10_000 }, Case { namespaces: 50, sockets: 200 }]);
    };
    arg.split(',')
        .map(|c| {
            let (n, s) = c.trim().split_once('x').ok_or_else(|| format!("`{c}`: expected NAMESPACESxSOCKETS"))?;
            let case = Case {
                namespaces: n.parse().map_err(|_| format!("`{c}`: bad namespace count"))?,
                sockets: s.parse().map_err(|_| format!("`{c}`: bad socket count"))?,
            };
            if case.namespaces == 0 || case.sockets < 3 {
                return Err(format!("`{c}`: at least one namespace of 3 sockets"));
            }
            Ok(case)
        })
        .collect()
}

fn print_row(f: &Figures) {
    let s = &f.stages;
    println!(
        "{:>10} {:>8} | {:>7.1} {:>7.1} {:>7.1} {:>7.1} {:>7.1} {:>8.1} | {:>7.1} | {:>8.2} {:>8.2} {:>8.2} | {:>8.1} {:>8.1} {:>8} | {:>7.2}x | {:>7.1}",
        format!("{}x{}", f.case.namespaces, f.case.sockets),
        f.seen,
        s[0],
        s[1],
        s[2],
        s[3],
        s[4],
        s[5],
        f.cold,
        f.scan,
        f.ns_dumps,
        f.host_dump,
        f.ss,
        f.nsenter,
        f.ss_seen,
        s[5] / f.ss,
        f.peak_mib
    );
}

fn run_case(case: Case) -> Result<Figures, String> {
    reset_peak_rss();
    let holders = Holders::spawn(case)?;
    let expected = holders.expected();
    let mut source = LinuxSource::open().map_err(|e| format!("netlink unavailable: {e}"))?;
    let mut builder = SnapshotBuilder::new(Arc::new(Spec::embedded()));
    let info = source.info();
    // Every shipped rule pack runs inside the refresh, as in the app.
    let mut engine = Engine::new(RuleSet::embedded(), IocSet::new());
    let mut refresh = || -> Result<(Snapshot, f64), String> {
        let t = Instant::now();
        let obs = source.collect().map_err(|e| format!("collect: {e}"))?;
        let snap = builder.build(obs, info.clone(), Some(&mut engine));
        Ok((snap, ms(t)))
    };

    // Cold: the first refresh enters every namespace.
    let (first, cold) = refresh()?;
    let deadline = Instant::now() + SETTLE;
    let mut snap = first;
    while let Err(missing) = check(&snap, &holders, expected) {
        if Instant::now() > deadline {
            return Err(format!("after {} s: {missing}", SETTLE.as_secs()));
        }
        std::thread::sleep(Duration::from_millis(50));
        snap = refresh()?.0;
    }

    let mut stages: Vec<[f64; 6]> = Vec::new();
    let mut seen = 0;
    for _ in 0..ROUNDS {
        let (snap, total) = refresh()?;
        seen = check(&snap, &holders, expected).map_err(|e| format!("during the steady refreshes: {e}"))?;
        let tm = snap.timings;
        stages.push([tm.dump_ms, tm.owners_ms, tm.facts_ms, tm.graph_ms, tm.rules_ms, total]);
    }
    let med = |i: usize| median(stages.iter().map(|s| s[i]).collect());
    let stages = [med(0), med(1), med(2), med(3), med(4), med(5)];
    let peak_mib = peak_rss_mib();
    drop(source);

    let (scan, ns_dumps, host_dump) = dump_parts(&holders)?;
    let (ss, ss_seen, nsenter) = ss_yardstick(&holders)?;
    holders.finish();
    Ok(Figures { case, seen, stages, cold, scan, ns_dumps, host_dump, ss, ss_seen, nsenter, peak_mib })
}

/// Every holder's namespace read, with at least `expected` sockets in the
/// snapshot: the total seen in them, or what is missing.
fn check(snap: &Snapshot, holders: &Holders, expected: u64) -> Result<u64, String> {
    let mut total = 0;
    for h in &holders.held {
        let info = snap.namespaces.iter().find(|n| n.inode == h.netns).ok_or_else(|| format!("namespace of holder {} not in the snapshot", h.pid))?;
        if info.status != NamespaceStatus::Entered {
            return Err(format!("namespace of holder {} not entered: {:?}", h.pid, info.status));
        }
        let tagged = snap.sockets.iter().filter(|s| s.raw.netns == Some(NetNs(h.netns))).count() as u64;
        if u64::from(info.sockets) < expected || tagged < expected {
            return Err(format!("namespace of holder {}: {} sockets read, {tagged} in the snapshot, {expected} expected", h.pid, info.sockets));
        }
        total += tagged;
    }
    Ok(total)
}

/// The dump stage's parts, timed apart with the collector's own pieces: the
/// namespace scan of /proc, one dump in each holder's namespace (sockets
/// opened there as the collector does), and the observer's own dump.
fn dump_parts(holders: &Holders) -> Result<(f64, f64, f64), String> {
    let mut fs = RealProcFs::open().map_err(|e| format!("/proc: {e}"))?;
    let mut sockets = Vec::new();
    for h in &holders.held {
        let fd = fs.open_netns(h.pid).map_err(|e| format!("open the namespace of {}: {e}", h.pid))?;
        sockets.push(within(fd, DiagSocket::open)?.map_err(|e| e.to_string())?);
    }
    let mut own = DiagSocket::open().map_err(|e| e.to_string())?;
    let (mut scans, mut dumps, mut owns) = (Vec::new(), Vec::new(), Vec::new());
    let mut out = Vec::with_capacity(holders.held.len() * 256);
    for _ in 0..ROUNDS {
        let t = Instant::now();
        let seen = Sightings::scan(&mut fs);
        scans.push(ms(t));
        if holders.held.iter().any(|h| !seen.by_inode.contains_key(&h.netns)) {
            return Err("the namespace scan misses a holder".into());
        }
        let t = Instant::now();
        for s in &mut sockets {
            out.clear();
            s.dump_all(&mut out).map_err(|e| e.to_string())?;
        }
        dumps.push(ms(t));
        out.clear();
        let t = Instant::now();
        own.dump_all(&mut out).map_err(|e| e.to_string())?;
        owns.push(ms(t));
    }
    Ok((median(scans), median(dumps), median(owns)))
}

/// `ss -tan` inside every holder's namespace, one after another: the median
/// pass, the lines the last pass printed (less headers), and the median
/// pass of `nsenter -n true` (the exec cost that is part of it).
fn ss_yardstick(holders: &Holders) -> Result<(f64, u64, f64), String> {
    let (mut passes, mut bare) = (Vec::new(), Vec::new());
    let mut lines = 0;
    for _ in 0..SS_ROUNDS {
        let t = Instant::now();
        lines = 0;
        for h in &holders.held {
            let out = Command::new("nsenter")
                .args(["-t", &h.pid.to_string(), "-n", "ss", "-tan"])
                .stderr(Stdio::null())
                .output()
                .map_err(|e| format!("nsenter: {e}"))?;
            if !out.status.success() {
                return Err(format!("`nsenter -t {} -n ss -tan` failed: {}", h.pid, out.status));
            }
            lines += out.stdout.split(|&b| b == b'\n').filter(|l| !l.is_empty()).count().saturating_sub(1) as u64;
        }
        passes.push(ms(t));
        let t = Instant::now();
        for h in &holders.held {
            let ok = Command::new("nsenter").args(["-t", &h.pid.to_string(), "-n", "true"]).status().is_ok_and(|s| s.success());
            if !ok {
                return Err(format!("`nsenter -t {} -n true` failed", h.pid));
            }
        }
        bare.push(ms(t));
    }
    Ok((median(passes), lines, median(bare)))
}

/// One holder: its process and the namespace it made.
#[derive(Debug)]
struct Held {
    child: Child,
    pid: u32,
    netns: u32,
}

/// The holders of one case; killed and reaped on drop, whatever happened.
#[derive(Debug)]
struct Holders {
    case: Case,
    held: Vec<Held>,
}

impl Holders {
    fn spawn(case: Case) -> Result<Self, String> {
        let exe = std::env::current_exe().map_err(|e| format!("own path: {e}"))?;
        let own = netns_of(std::process::id()).ok_or("cannot read /proc/self/ns/net")?;
        let mut out = Self { case, held: Vec::with_capacity(case.namespaces) };
        let mut pending = Vec::with_capacity(case.namespaces);
        for _ in 0..case.namespaces {
            // unshare execs the holder: its pid is the holder's.
            let mut child = Command::new("unshare")
                .arg("-n")
                .arg(&exe)
                .env(HOLDER_ENV, (case.sockets / 2).to_string())
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .spawn()
                .map_err(|e| format!("spawn unshare: {e}"))?;
            let stdout = child.stdout.take();
            let pid = child.id();
            out.held.push(Held { child, pid, netns: 0 });
            pending.push(stdout);
        }
        for (h, stdout) in out.held.iter_mut().zip(pending) {
            let mut line = String::new();
            let read = stdout.map(|s| BufReader::new(s).read_line(&mut line));
            if !matches!(read, Some(Ok(n)) if n > 0) || !line.starts_with("ready") {
                return Err(format!("holder {} failed: {}", h.pid, if line.is_empty() { "no output (did unshare -n fail?)" } else { line.trim() }));
            }
            h.netns = netns_of(h.pid).ok_or_else(|| format!("cannot read the namespace of holder {}", h.pid))?;
            if h.netns == own {
                return Err(format!("holder {} is in the observer's namespace", h.pid));
            }
        }
        Ok(out)
    }

    /// Sockets each namespace holds: both ends of every connection and
    /// the listener.
    fn expected(&self) -> u64 {
        (self.case.sockets / 2 * 2 + 1) as u64
    }

    /// Ask every holder to leave (stdin closed), then reap it; the guard
    /// kills whatever is still there after a grace period.
    fn finish(mut self) {
        for h in &mut self.held {
            drop(h.child.stdin.take());
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        for h in &mut self.held {
            while Instant::now() < deadline && matches!(h.child.try_wait(), Ok(None)) {
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        let inodes: Vec<u32> = self.held.iter().map(|h| h.netns).collect();
        drop(self);
        let left = std::fs::read_dir("/proc")
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
            .filter(|&p| netns_of(p).is_some_and(|n| inodes.contains(&n)))
            .count();
        if left > 0 {
            println!("warning: {left} processes still in this case's namespaces");
        }
    }
}

impl Drop for Holders {
    fn drop(&mut self) {
        for h in &mut self.held {
            if matches!(h.child.try_wait(), Ok(None)) {
                let _ = h.child.kill();
            }
            let _ = h.child.wait();
        }
    }
}

/// The namespace inode of a process, from its `ns/net` link.
fn netns_of(pid: u32) -> Option<u32> {
    let link = std::fs::read_link(format!("/proc/{pid}/ns/net")).ok()?;
    link.to_str()?.strip_prefix("net:[")?.strip_suffix(']')?.parse().ok()
}

/// Child, inside its own new namespace: bring `lo` up, hold `conns`
/// loopback connections (both ends) until stdin closes.
fn holder(conns: usize) -> ! {
    std::thread::spawn(|| {
        std::thread::sleep(Duration::from_secs(15 * 60));
        std::process::exit(2);
    });
    let mut out = std::io::stdout();
    let fail = |out: &mut std::io::Stdout, why: String| -> ! {
        let _ = writeln!(out, "error: {why}");
        let _ = out.flush();
        std::process::exit(1);
    };
    match Command::new("ip").args(["link", "set", "lo", "up"]).status() {
        Ok(s) if s.success() => {}
        Ok(s) => fail(&mut out, format!("`ip link set lo up`: {s}")),
        Err(e) => fail(&mut out, format!("`ip link set lo up`: {e}")),
    }
    let listener = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| fail(&mut out, format!("bind: {e}")));
    let addr = listener.local_addr().unwrap_or_else(|e| fail(&mut out, format!("addr: {e}")));
    let mut held = Vec::with_capacity(conns * 2);
    for i in 0..conns {
        let c = TcpStream::connect(addr).unwrap_or_else(|e| fail(&mut out, format!("connect {i}: {e}")));
        let (a, _) = listener.accept().unwrap_or_else(|e| fail(&mut out, format!("accept {i}: {e}")));
        for s in [&c, &a] {
            let _ = rustix::net::sockopt::set_socket_linger(s, Some(Duration::ZERO));
        }
        held.push(c);
        held.push(a);
    }
    let _ = writeln!(out, "ready {}", held.len() + 1);
    let _ = out.flush();
    let mut buf = [0u8; 1];
    let _ = std::io::stdin().read(&mut buf);
    drop(held);
    drop(listener);
    std::process::exit(0);
}

//! Refresh benchmark: N established loopback sockets held by child
//! processes, then necromap's refresh stages timed next to `ss -tan` and
//! `ss -tanp` on the same sockets, in the same run, with ratios. Each runs
//! in its own block; with `NECROMAP_BENCH_INTERLEAVE=1` `ss -tan` runs
//! between the steady refreshes and `ss -tanp` between the one-shots.
//!
//! ```text
//! cargo bench --bench refresh                    # 1k, 10k, 100k sockets
//! cargo bench --bench refresh -- 1000,10000      # chosen sizes
//! NECROMAP_BENCH_NO_SS=1 NECROMAP_BENCH_ROUNDS=40 cargo bench --bench refresh -- 100000
//!                                                 # necromap alone, 40 refreshes (profiling)
//! ```
//!
//! N counts sockets: N/2 connections, both ends held by holder children
//! (this binary re-run with `NECROMAP_BENCH_HOLDER` set). Each child holds at
//! most 16,000 fds, under the usual 20,000 hard limit; `ulimit -n` is raised
//! to the hard limit first. Only 127.0.0.1 is used. Children close with
//! `SO_LINGER` 0 (no `TIME_WAIT` left behind), exit when their stdin closes or
//! after 15 minutes, and are reaped by pid.
//!
//! Each steady snapshot is also handed to the explorer's `App` (rows, map,
//! orders derived as in the terminal), so "peak MiB" is what the explorer
//! holds at that size: the collector's tables, history and owner cache, the
//! snapshot being built, the one on screen and the explorer's own state.
//! Run one size alone for its own peak (`-- 50000`).
//!
//! "one-shot" is the whole `necromap snapshot --format json` process (the
//! binary built with this benchmark: start-up, one cold refresh, the JSON
//! written to /dev/null), beside `ss -tanp`, which also names owners.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use necromap::collect::{LinuxSource, Source};
use necromap::model::SnapshotBuilder;
use necromap::rules::{Engine, IocSet, RuleSet};
use necromap::spec::Spec;
use necromap::tui::{App, Options};

#[path = "measure.rs"]
mod measure;
use measure::{median, ms, peak_rss_mib, raise_fd_limit};

const FDS_PER_HOLDER: usize = 16_000;
const HOLDER_ENV: &str = "NECROMAP_BENCH_HOLDER";

fn main() {
    if let Ok(conns) = std::env::var(HOLDER_ENV) {
        holder(conns.parse().unwrap_or(0));
    }
    // As the binary does first thing: the peak is the explorer's.
    necromap::memory::return_large_blocks();
    let sizes: Vec<usize> = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .map_or_else(|| vec![1_000, 10_000, 100_000], |s| s.split(',').filter_map(|x| x.trim().parse().ok()).collect());
    let hard = raise_fd_limit();
    println!("necromap refresh benchmark · fd limit {hard} · {} cores", std::thread::available_parallelism().map_or(1, usize::from));
    println!("medians; ratios are necromap's steady refresh over ss on the same sockets in this run\n");
    println!(
        "{:>8} {:>8} | {:>7} {:>7} {:>7} {:>7} {:>7} {:>8} | {:>8} | {:>8} {:>9} | {:>9} {:>10} | {:>8} {:>9} | {:>8}",
        "sockets",
        "in dump",
        "dump",
        "owners",
        "facts",
        "graph",
        "rules",
        "steady",
        "cold",
        "ss -tan",
        "ss -tanp",
        "vs -tan",
        "vs -tanp",
        "one-shot",
        "vs -tanp",
        "peak MiB"
    );
    for n in sizes {
        run_size(n);
    }
    plumbing_cost(200);
}

/// What following shells' pipes costs: the plumbing part of the facts
/// stage with `shells` pipelines (`cat <&socket | sh`, each cat holding a
/// loopback connection and feeding a shell), beside the whole owners and
/// facts stages (which grow with the processes themselves).
fn plumbing_cost(shells: usize) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    // Each shell's pipeline (cat, sh, sleep) is orphaned when the shell is
    // killed. Reparented to PID 1, they waited as zombies until it reaped
    // them (here up to 20 s: 340 of them after one run), and every one was
    // a pid the next run's owner scan met: its refresh took 1.7-4.7 ms at
    // 10k with them, 0.5-1.3 ms without (measured). As the subreaper the
    // bench gets them and reaps them itself.
    let _ = rustix::process::set_child_subreaper(Some(rustix::process::getpid()));
    // The accepted ends, reset (not closed) before the shells go: a shell
    // killed first closes its end first, and its connection then waits in
    // TIME_WAIT for a minute, an outbound socket to this run's port. The
    // runs that followed within the minute saw them: 200 more rows each,
    // and more ports that 127.0.0.1 was reached on, until the fan-out
    // scan rule's bound no longer ruled it out and it walked every
    // outbound socket (1.2-1.7 ms at 100k, measured).
    let accepted: Arc<std::sync::Mutex<Vec<TcpStream>>> = Arc::default();
    let keeping = Arc::clone(&accepted);
    std::thread::spawn(move || {
        for c in listener.incoming().flatten() {
            let _ = rustix::net::sockopt::set_socket_linger(&c, Some(Duration::ZERO));
            keeping.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(c);
        }
    });
    let Ok(mut source) = LinuxSource::open() else { return };
    let mut builder = SnapshotBuilder::new(Arc::new(Spec::embedded()));
    let info = source.info();
    let mut engine = Engine::new(RuleSet::embedded(), IocSet::new());
    let mut measure = |rounds: usize| {
        let (mut stages, mut plumbing) = (Vec::new(), Vec::new());
        let mut links = 0;
        for _ in 0..rounds {
            let snap = builder.build(source.collect().expect("collect"), info.clone(), Some(&mut engine));
            stages.push(snap.timings.owners_ms + snap.timings.facts_ms);
            plumbing.push(snap.timings.plumbing_ms);
            links = snap.processes.values().map(|p| p.facts.shell_links.len()).sum::<usize>();
        }
        (median(stages), median(plumbing), links)
    };
    measure(3);
    let (without, plumbing_without, _) = measure(15);
    let script = format!("exec 3<>/dev/tcp/127.0.0.1/{port}; cat <&3 | sh -c 'read x; sleep 600'");
    let children: Vec<Child> = (0..shells)
        .map(|_| {
            use std::os::unix::process::CommandExt;
            Command::new("bash").arg("-c").arg(&script).process_group(0).stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null()).spawn().expect("bash")
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut found = (0.0, 0.0, 0);
    while Instant::now() < deadline {
        found = measure(1);
        if found.2 >= shells {
            break;
        }
    }
    let (with, plumbing, links) = if found.2 >= shells { measure(15) } else { found };
    println!(
        "\nplumbing: {shells} shells fed through pipes by socket holders ({links} shell links found): plumbing {plumbing:.2} ms ({plumbing_without:.2} ms without them); owners + facts {with:.1} ms ({without:.1} ms)"
    );
    drop(std::mem::take(&mut *accepted.lock().unwrap_or_else(std::sync::PoisonError::into_inner)));
    for c in children {
        if let Some(pid) = rustix::process::Pid::from_raw(c.id() as i32) {
            let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
            // The shell, then its pipeline, ours once the shell is gone:
            // until none of the group is left.
            while let Ok(Some(_)) = rustix::process::waitpgid(pid, rustix::process::WaitOptions::empty()) {}
        } else {
            let mut c = c;
            let _ = c.wait();
        }
    }
}

fn run_size(n: usize) {
    let holders = spawn_holders(n);
    let mut source = match LinuxSource::open() {
        Ok(s) => s,
        Err(e) => {
            println!("netlink unavailable: {e}");
            return;
        }
    };
    let spec = Arc::new(Spec::embedded());
    let mut builder = SnapshotBuilder::new(spec.clone());
    let mut explorer: Option<App> = None;
    let info = source.info();
    // Every shipped rule pack runs inside the refresh, as in the app.
    let mut engine = Engine::new(RuleSet::embedded(), IocSet::new());

    let t = Instant::now();
    let obs = source.collect().expect("collect");
    let first = builder.build(obs, info.clone(), Some(&mut engine));
    let cold = ms(t);
    // Only its time counts: the explorer would have let it go by now.
    drop(first);

    // NECROMAP_BENCH_ROUNDS=N: N steady refreshes per size (for profiling).
    let rounds =
        std::env::var("NECROMAP_BENCH_ROUNDS").ok().and_then(|v| v.parse().ok()).filter(|&r: &usize| r > 0).unwrap_or(if n >= 50_000 { 7 } else { 15 });
    // NECROMAP_BENCH_NO_SS=1 skips the ss runs (for profiling necromap alone).
    let with_ss = std::env::var_os("NECROMAP_BENCH_NO_SS").is_none();
    let interleave = with_ss && std::env::var_os("NECROMAP_BENCH_INTERLEAVE").is_some();
    let mut stages: Vec<[f64; 6]> = Vec::new();
    let mut ss_tan = Vec::new();
    let mut seen = 0;
    for _ in 0..rounds {
        // NECROMAP_BENCH_INTERLEAVE=1: `ss -tan` runs between the refreshes
        // (and `ss -tanp` between the one-shots), so each pair meets the
        // same load on a busy machine; each also runs just after the other
        // walked the same sockets. By default each runs in its own block,
        // as in every table of the README.
        if interleave {
            ss_tan.push(time_cmd("ss", &["-tan"]));
        }
        let t = Instant::now();
        let obs = source.collect().expect("collect");
        let snap = Arc::new(builder.build(obs, info.clone(), Some(&mut engine)));
        let total = ms(t);
        let tm = snap.timings;
        stages.push([tm.dump_ms, tm.owners_ms, tm.facts_ms, tm.graph_ms, tm.rules_ms, total]);
        seen = snap.sockets.len();
        // The explorer takes the new snapshot and lets the old one go.
        match explorer.as_mut() {
            Some(app) => app.set_snapshot(snap),
            None => explorer = Some(App::new(spec.clone(), snap, necromap::collector::CollectorStatus::default(), Options::default(), (200, 60))),
        }
    }
    let med = |i: usize| median(stages.iter().map(|s| s[i]).collect());
    if with_ss && !interleave {
        ss_tan.extend((0..if n >= 50_000 { 3 } else { rounds }).map(|_| time_cmd("ss", &["-tan"])));
    }
    let ss_tan = median(ss_tan);
    let pairs = match (with_ss, n >= 50_000) {
        (false, _) => 0,
        (true, true) => 3,
        (true, false) => 7,
    };
    let one_shot = || time_cmd(env!("CARGO_BIN_EXE_necromap"), &["snapshot", "--format", "json"]);
    let (mut one_shots, mut ss_tanps) = (Vec::new(), Vec::new());
    if interleave {
        for _ in 0..pairs {
            one_shots.push(one_shot());
            ss_tanps.push(time_cmd("ss", &["-tanp"]));
        }
    } else {
        ss_tanps.extend((0..pairs).map(|_| time_cmd("ss", &["-tanp"])));
        one_shots.extend((0..pairs).map(|_| one_shot()));
    }
    let (one_shot, ss_tanp) = (median(one_shots), median(ss_tanps));
    let steady = med(5);
    println!(
        "{:>8} {:>8} | {:>7.1} {:>7.1} {:>7.1} {:>7.1} {:>7.1} {:>8.1} | {:>8.1} | {:>8.1} {:>9.1} | {:>8.2}x {:>9.3}x | {:>8.1} {:>8.2}x | {:>8.1}",
        n,
        seen,
        med(0),
        med(1),
        med(2),
        med(3),
        med(4),
        steady,
        cold,
        ss_tan,
        ss_tanp,
        steady / ss_tan,
        steady / ss_tanp,
        one_shot,
        one_shot / ss_tanp,
        peak_rss_mib()
    );
    drop(source);
    reap(holders);
}

fn time_cmd(cmd: &str, args: &[&str]) -> f64 {
    let t = Instant::now();
    let status = Command::new(cmd).args(args).stdout(Stdio::null()).stderr(Stdio::null()).status();
    match status {
        Ok(s) if s.success() => ms(t),
        _ => f64::NAN,
    }
}

fn spawn_holders(sockets: usize) -> Vec<Child> {
    let conns = sockets / 2;
    let per = FDS_PER_HOLDER / 2;
    let count = conns.div_ceil(per).max(1);
    let exe = std::env::current_exe().expect("own path");
    let mut children = Vec::new();
    let mut left = conns;
    for i in 0..count {
        let here = left / (count - i);
        left -= here;
        let child = Command::new(&exe)
            .env(HOLDER_ENV, here.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn holder");
        children.push(child);
    }
    for c in &mut children {
        let mut line = String::new();
        let out = c.stdout.take().expect("stdout");
        BufReader::new(out).read_line(&mut line).expect("holder ready line");
        assert!(line.starts_with("ready"), "holder failed: {line}");
    }
    children
}

fn reap(children: Vec<Child>) {
    for mut c in children {
        drop(c.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            match c.try_wait() {
                Ok(Some(_)) => break,
                Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
                _ => {
                    let _ = c.kill();
                    let _ = c.wait();
                    break;
                }
            }
        }
    }
}

/// Child: hold `conns` loopback connections (both ends) until stdin closes.
fn holder(conns: usize) -> ! {
    std::thread::spawn(|| {
        std::thread::sleep(Duration::from_secs(15 * 60));
        std::process::exit(2);
    });
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let mut held = Vec::with_capacity(conns * 2);
    for _ in 0..conns {
        let c = TcpStream::connect(addr).expect("connect");
        let (a, _) = listener.accept().expect("accept");
        for s in [&c, &a] {
            let _ = rustix::net::sockopt::set_socket_linger(s, Some(Duration::ZERO));
        }
        held.push(c);
        held.push(a);
    }
    let mut out = std::io::stdout();
    let _ = writeln!(out, "ready {}", held.len());
    let _ = out.flush();
    let mut buf = [0u8; 1];
    let _ = std::io::stdin().read(&mut buf);
    drop(held);
    std::process::exit(0);
}

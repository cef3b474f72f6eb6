//! Connect tracer benchmark (root): loopback connections made as fast as
//! client threads can, without the tracer, with it, and without it again;
//! connections per second, the ratio, records received against
//! connections made, what the kernel lost, and the tracer thread's CPU.
//!
//! ```text
//! cargo bench --bench trace                # 1 and 2 client threads, 5 s phases
//! cargo bench --bench trace -- 3 1,2,4     # 3 s phases; 1, 2 and 4 client threads
//! ```
//!
//! Two workloads: connects to a listener (handshake, then a reset) and
//! connects to a closed port (refused at once).
//!
//! Only 127.0.0.1 is used. Clients close with `SO_LINGER` 0 (a reset, no
//! `TIME_WAIT`), so the ephemeral ports never run out; an acceptor thread
//! takes and drops the server ends.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use necromap::collect::trace::{ConnectTracer, TraceStats};

fn main() {
    let mut args = std::env::args().skip(1).filter(|a| !a.starts_with('-'));
    let secs: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(5);
    let clients: Vec<usize> = args.next().map_or_else(|| vec![1, 2], |s| s.split(',').filter_map(|x| x.trim().parse().ok()).collect());
    if !rustix::process::geteuid().is_root() {
        println!("the connect tracer needs root; nothing measured");
        return;
    }
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    // A deep accept queue: a full one drops SYNs, and the client then
    // waits a whole second for the retransmission.
    rustix::net::listen(&listener, 4096).expect("listen");
    let accepted = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            drop(conn);
        }
    });
    // Nothing listens here: every connect is refused at once (no accept
    // queue involved, the same two trace lines per connect).
    let refused = TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr");
    let phase = Duration::from_secs(secs);
    println!("necromap connect tracer benchmark · {} cores · {secs} s phases · load {}", cores(), load());
    println!(
        "\n{:>9} {:>7} | {:>11} {:>11} {:>11} {:>7} | {:>9} {:>9} {:>8} {:>7} {:>7} | {:>16}",
        "workload", "clients", "off conn/s", "on conn/s", "off again", "on/off", "connects", "records", "rec/conn", "lost", "dropped", "tracer CPU (sys)"
    );
    for (workload, server) in [("accepted", accepted), ("refused", refused)] {
        for &n in &clients {
            let before = connect_loop(server, n, phase);
            let tracer = match ConnectTracer::start() {
                Ok(t) => Arc::new(t),
                Err(e) => {
                    println!("{e}");
                    return;
                }
            };
            let drain = Drainer::start(Arc::clone(&tracer), server);
            let (user_before, sys_before) = tracer_cpu_ticks();
            let t = Instant::now();
            let during = connect_loop(server, n, phase);
            // The last lines arrive within a poll period; pairing is
            // immediate on loopback.
            std::thread::sleep(Duration::from_millis(300));
            let (user, sys) = tracer_cpu_ticks();
            let share = |ticks: u64| 100.0 * ticks as f64 / ticks_per_sec() / t.elapsed().as_secs_f64();
            let (user, sys) = (share(user.saturating_sub(user_before)), share(sys.saturating_sub(sys_before)));
            let (records, stats) = drain.stop();
            drop(tracer);
            let after = connect_loop(server, n, phase);
            let off = f64::midpoint(before.rate(), after.rate());
            println!(
                "{workload:>9} {n:>7} | {:>11.0} {:>11.0} {:>11.0} {:>6.0}% | {:>9} {records:>9} {:>7.1}% {:>7} {:>7} | {:>9.0}% ({:>3.0}%)",
                before.rate(),
                during.rate(),
                after.rate(),
                100.0 * during.rate() / off,
                during.attempts,
                100.0 * records as f64 / during.attempts.max(1) as f64,
                stats.kernel_lost,
                stats.dropped_queue_full,
                user + sys,
                sys,
            );
        }
    }
    println!("\non/off: connect rate with the tracer over the mean of the two runs without it");
    println!("accepted: connect to a listener, then reset; refused: connect to a closed port");
    println!("connects: connect() calls while tracing; records: this process's connects to that port, taken every 500 ms");
    println!("lost: events the kernel's ring buffer overwrote before they were read (per-CPU stats)");
    println!("tracer CPU: the necromap-trace thread's user + system time in % of one core (system: the kernel formatting lines)");
}

/// `connect()` calls made (successful or refused) and the time they took.
struct Loop {
    attempts: u64,
    elapsed: Duration,
}

impl Loop {
    fn rate(&self) -> f64 {
        self.attempts as f64 / self.elapsed.as_secs_f64()
    }
}

/// `clients` threads calling `connect()` on `server` for `phase`.
fn connect_loop(server: SocketAddr, clients: usize, phase: Duration) -> Loop {
    let stop = Arc::new(AtomicBool::new(false));
    let made = Arc::new(AtomicU64::new(0));
    let threads: Vec<_> = (0..clients)
        .map(|_| {
            let (stop, made) = (Arc::clone(&stop), Arc::clone(&made));
            std::thread::spawn(move || {
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    if let Ok(s) = TcpStream::connect(server) {
                        let _ = rustix::net::sockopt::set_socket_linger(&s, Some(Duration::ZERO));
                    }
                    n += 1;
                }
                made.fetch_add(n, Ordering::Relaxed);
            })
        })
        .collect();
    let t = Instant::now();
    std::thread::sleep(phase);
    stop.store(true, Ordering::Relaxed);
    for th in threads {
        let _ = th.join();
    }
    Loop { attempts: made.load(Ordering::Relaxed), elapsed: t.elapsed() }
}

fn load() -> String {
    std::fs::read_to_string("/proc/loadavg").map_or_else(|_| "?".into(), |l| l.split(' ').take(3).collect::<Vec<_>>().join(" "))
}

/// Takes records every 500 ms and counts ours.
struct Drainer {
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<(u64, TraceStats)>,
}

impl Drainer {
    fn start(tracer: Arc<ConnectTracer>, server: SocketAddr) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let me = std::process::id();
        let thread = std::thread::spawn(move || {
            let mut ours = 0;
            loop {
                let last = flag.load(Ordering::Relaxed);
                let (records, stats) = tracer.take();
                ours += records.iter().filter(|r| r.pid == me && r.remote == server).count() as u64;
                if last {
                    return (ours, stats);
                }
                std::thread::sleep(Duration::from_millis(500));
            }
        });
        Self { stop, thread }
    }

    fn stop(self) -> (u64, TraceStats) {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().expect("drainer")
    }
}

/// utime and stime of the `necromap-trace` thread, in clock ticks.
fn tracer_cpu_ticks() -> (u64, u64) {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else { return (0, 0) };
    tasks
        .filter_map(Result::ok)
        .filter(|t| std::fs::read_to_string(t.path().join("comm")).is_ok_and(|c| c.trim() == "necromap-trace"))
        .filter_map(|t| std::fs::read_to_string(t.path().join("stat")).ok())
        .filter_map(|stat| {
            // Fields after the parenthesised name: state is field 3, utime 14, stime 15.
            let rest = stat.rsplit_once(')')?.1;
            let f: Vec<&str> = rest.split_whitespace().collect();
            Some((f.get(11)?.parse::<u64>().ok()?, f.get(12)?.parse::<u64>().ok()?))
        })
        .fold((0, 0), |(u, s), (du, ds)| (u + du, s + ds))
}

fn ticks_per_sec() -> f64 {
    rustix::param::clock_ticks_per_second() as f64
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

//! Destroy-event benchmark: worker threads open and close loopback TCP
//! connections (connect, accept, close both) as fast as they can while the
//! [`EventPump`] reads the kernel's socket-destroy events. Each connection
//! frees two full sockets (the client and the accepted one), so it should
//! produce two events; the ratio received/expected shows any loss.
//! Also: the connection rate with nobody listening (what subscribing costs
//! the connecting side), the reader thread's CPU per event, how many events
//! the receive queue holds and how fast a backlog drains, and what an
//! event costs to record.
//!
//! ```text
//! cargo bench --bench events
//! NECROMAP_EVENTS_WORKERS=4 NECROMAP_EVENTS_SECS=5 cargo bench --bench events
//! ```
//!
//! Events are host-wide: other processes' sockets are counted apart. Only
//! 127.0.0.1 is used. The server side closes first, so `TIME_WAIT`
//! stays on the server's 4-tuples and never exhausts the client's ports.
//! Target: ≥ 50,000 destroyed sockets per second received without loss.

use std::collections::HashSet;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use necromap::collect::netlink::{DestroyListener, EventPump, PumpStats};
use necromap::model::DestroyedSocket;

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn main() {
    let workers = env_or("NECROMAP_EVENTS_WORKERS", 2).max(1) as usize;
    let secs = env_or("NECROMAP_EVENTS_SECS", 3).max(1);
    let run = Duration::from_secs(secs);
    println!("necromap destroy-event benchmark · {workers} workers · {secs} s · {} cores", std::thread::available_parallelism().map_or(1, usize::from));

    let (quiet_conns, _) = churn(workers, run);
    let quiet_rate = quiet_conns as f64 / run.as_secs_f64();
    println!("nobody listening: {quiet_conns} connections, {quiet_rate:.0}/s");

    let Ok(listener) = DestroyListener::open() else {
        println!("netlink sock_diag unavailable: nothing to measure");
        return;
    };
    let rcvbuf = listener.recv_buffer();
    let pump = EventPump::start().expect("start the event thread");
    pump.add(0, listener);
    let cpu_before = pump_cpu_ms();

    let started = Instant::now();
    let mut gathered = Vec::new();
    let handles = spawn_churn(workers, run);
    while handles.iter().any(|h| !h.0.is_finished()) {
        std::thread::sleep(Duration::from_millis(100));
        gathered.extend(pump.take().0);
    }
    let churned: Vec<(usize, SocketAddr)> = handles.into_iter().map(|(h, addr)| (h.join().expect("worker"), addr)).collect();
    let window = started.elapsed();
    let in_window = gathered.len();
    // Events still in flight: drain until nothing new for 300 ms.
    let stats = settle(&pump, &mut gathered);
    let cpu_ms = pump_cpu_ms() - cpu_before;

    let conns: usize = churned.iter().map(|(n, _)| n).sum();
    let servers: HashSet<SocketAddr> = churned.iter().map(|(_, a)| *a).collect();
    let clients = gathered.iter().filter(|(_, e)| servers.contains(&e.remote)).count();
    let accepted = gathered.iter().filter(|(_, e)| servers.contains(&e.local) && e.remote.port() != 0).count();
    let ours = clients + accepted;
    let ours_in_window =
        gathered[..in_window].iter().filter(|(_, e)| servers.contains(&e.remote) || (servers.contains(&e.local) && e.remote.port() != 0)).count();
    let expected = 2 * conns;
    let secs_f = window.as_secs_f64();
    let rate = conns as f64 / secs_f;
    println!("pump running:     {conns} connections, {rate:.0}/s");
    println!(
        "events:           {ours} of {expected} expected (ratio {:.4}; {clients} clients, {accepted} accepted), {:.0} of ours/s received during the run ({} events in all, other processes' included)",
        ours as f64 / expected.max(1) as f64,
        ours_in_window as f64 / secs_f,
        gathered.len()
    );
    println!(
        "losses:           kernel overruns {} · queue drops {} · malformed {} · failed listeners {}",
        stats.kernel_overruns, stats.dropped_queue_full, stats.malformed, stats.failed_listeners
    );
    println!(
        "reader:           {cpu_ms:.0} ms CPU for {} events ({:.2} µs each) · receive queue {} MiB",
        stats.received,
        cpu_ms * 1000.0 / stats.received.max(1) as f64,
        rcvbuf >> 20
    );
    drop(pump);
    // Again with nobody listening, so that warming up or a busy neighbour
    // does not pass for the cost (or gain) of listening.
    let (again, _) = churn(workers, run);
    let again_rate = again as f64 / run.as_secs_f64();
    println!("nobody listening: {again} connections, {again_rate:.0}/s (again, after)");
    println!("listening costs:  the pump run made {:.2} times the connections of the mean quiet run", rate / f64::midpoint(quiet_rate, again_rate));
    backlog(workers);
    recording_cost(&gathered);
}

/// How deep the receive queue is and how fast the reader empties it: churn
/// for two seconds with nobody reading (enough to overflow 64 MiB at this
/// rate), then drain the backlog in one go. The kernel broadcasts from a
/// workqueue, which lags behind on a busy machine: what arrives after the
/// drain is counted as late, not lost.
fn backlog(workers: usize) {
    let Ok(mut listener) = DestroyListener::open() else { return };
    let (conns, servers) = churn(workers, Duration::from_secs(2));
    let is_ours = |e: &DestroyedSocket| servers.contains(&e.remote) || (servers.contains(&e.local) && e.remote.port() != 0);
    std::thread::sleep(Duration::from_millis(300));
    let mut events = Vec::new();
    let t = Instant::now();
    while listener.recv_into(&mut events, None).expect("drain").more {}
    let took = t.elapsed().as_secs_f64();
    let queued = events.len();
    let overflowed = listener.overruns() > 0;
    let ours = events.iter().filter(|e| is_ours(e)).count();
    let mut late = Vec::new();
    let until = Instant::now() + Duration::from_secs(2);
    while Instant::now() < until {
        listener.recv_into(&mut late, Some(Duration::from_millis(100))).expect("drain");
    }
    let late_ours = late.iter().filter(|e| is_ours(e)).count();
    println!(
        "backlog:          {conns} connections with nobody reading for 2 s: {queued} events queued, {ours} of our {} expected (+{late_ours} late){}; drained in {:.1} ms ({:.0} events/s, {:.2} µs each)",
        2 * conns,
        if overflowed {
            format!(", then the queue overflowed: it holds {queued} events, {} bytes each", listener.recv_buffer() / queued.max(1))
        } else {
            String::new()
        },
        took * 1000.0,
        queued as f64 / took,
        took * 1e6 / queued.max(1) as f64
    );
}

/// Run the workers to the end; connections made, and the server addresses.
fn churn(workers: usize, run: Duration) -> (usize, Vec<SocketAddr>) {
    let done: Vec<_> = spawn_churn(workers, run).into_iter().map(|(h, a)| (h.join().expect("worker"), a)).collect();
    (done.iter().map(|(n, _)| n).sum(), done.into_iter().map(|(_, a)| a).collect())
}

/// Each worker: its own listener, then connect, accept, close the accepted
/// side, close the client, until `run` is over. Returns connections made.
fn spawn_churn(workers: usize, run: Duration) -> Vec<(JoinHandle<usize>, SocketAddr)> {
    let stop = Arc::new(AtomicBool::new(false));
    let timer = Arc::clone(&stop);
    std::thread::spawn(move || {
        std::thread::sleep(run);
        timer.store(true, Ordering::Relaxed);
    });
    (0..workers)
        .map(|_| {
            let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
            let addr = listener.local_addr().expect("addr");
            let stop = Arc::clone(&stop);
            let handle = std::thread::spawn(move || {
                let mut made = 0;
                while !stop.load(Ordering::Relaxed) {
                    let Ok(client) = TcpStream::connect(addr) else { continue };
                    let Ok((accepted, _)) = listener.accept() else { continue };
                    drop(accepted);
                    drop(client);
                    made += 1;
                }
                // Keep the listener until every accepted socket is gone.
                drop(listener);
                made
            });
            (handle, addr)
        })
        .collect()
}

/// Take until nothing new arrives for 300 ms (at most 10 s).
fn settle(pump: &EventPump, gathered: &mut Vec<(u64, DestroyedSocket)>) -> PumpStats {
    let until = Instant::now() + Duration::from_secs(10);
    let mut quiet_since = Instant::now();
    loop {
        let (events, stats) = pump.take();
        if !events.is_empty() {
            quiet_since = Instant::now();
        }
        gathered.extend(events);
        if quiet_since.elapsed() > Duration::from_millis(300) || Instant::now() > until {
            return stats;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// CPU time (user + system) of the `necromap-events` thread so far, in ms.
fn pump_cpu_ms() -> f64 {
    let tick_ms = 1000.0 / rustix::param::clock_ticks_per_second() as f64;
    std::fs::read_dir("/proc/self/task")
        .into_iter()
        .flatten()
        .flatten()
        .filter(|t| std::fs::read_to_string(t.path().join("comm")).is_ok_and(|c| c.trim() == "necromap-events"))
        .filter_map(|t| std::fs::read_to_string(t.path().join("stat")).ok())
        .map(|stat| {
            // Fields after the command name (which may hold spaces).
            let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
            let f: Vec<&str> = rest.split_whitespace().collect();
            let ticks: u64 = f.get(11).and_then(|v| v.parse().ok()).unwrap_or(0) + f.get(12).and_then(|v| v.parse().ok()).unwrap_or(0);
            ticks as f64 * tick_ms
        })
        .sum()
}

/// What recording an event costs: its JSON size and the time to read it
/// back.
fn recording_cost(gathered: &[(u64, DestroyedSocket)]) {
    let Some((_, sample)) = gathered.iter().find(|(_, e)| e.tcp.is_some()) else { return };
    let json = serde_json::to_string(sample).expect("serialize");
    let t = Instant::now();
    let rounds = 200_000;
    for _ in 0..rounds {
        let back: DestroyedSocket = serde_json::from_str(&json).expect("parse");
        std::hint::black_box(back);
    }
    println!("recording:        one event is {} bytes of JSON, {:.2} µs to read back", json.len(), t.elapsed().as_secs_f64() * 1e6 / f64::from(rounds));
}

//! A background thread that stops when its handle is dropped: the body
//! gets a flag it checks between rounds; drop sets it and joins. The
//! eve intake, the login intake and the posture watch all run this way.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;

/// Set when the worker should stop.
#[derive(Debug, Clone, Default)]
pub struct StopFlag(Arc<AtomicBool>);

impl StopFlag {
    pub fn is_set(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// The running thread; dropping it asks the body to stop and waits for it.
#[derive(Debug)]
pub struct Worker {
    stop: StopFlag,
    thread: Option<JoinHandle<()>>,
}

impl Worker {
    /// Start `body` on a thread named `name`.
    pub fn spawn(name: &str, body: impl FnOnce(StopFlag) + Send + 'static) -> std::io::Result<Self> {
        let stop = StopFlag::default();
        let flag = stop.clone();
        let thread = std::thread::Builder::new().name(name.into()).spawn(move || body(flag))?;
        Ok(Self { stop, thread: Some(thread) })
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.stop.0.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dropping_the_worker_stops_and_joins_its_thread() {
        let rounds = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let seen = rounds.clone();
        let w = Worker::spawn("test-worker", move |stop| {
            while !stop.is_set() {
                seen.fetch_add(1, Ordering::Relaxed);
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
        })
        .expect("spawn");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while rounds.load(Ordering::Relaxed) == 0 {
            assert!(std::time::Instant::now() < deadline, "the body ran");
            std::thread::yield_now();
        }
        drop(w);
        let after = rounds.load(Ordering::Relaxed);
        std::thread::sleep(std::time::Duration::from_millis(20));
        assert_eq!(rounds.load(Ordering::Relaxed), after, "joined: no round after the drop");
    }
}

//! Large tables let go on a thread of their own, so handing their pages
//! back to the kernel (about a millisecond for 16 MB on this VM) is not on
//! the refresh's path. The thread starts with the first table, takes one
//! at a time, and ends when its [`DropBeside`] goes. When it is still busy
//! with the last table, or cannot be started, the table is dropped here:
//! nothing waits and nothing piles up.

use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};

/// A table of any type, only to be dropped.
pub type Garbage = Box<dyn Send>;

/// The dropping thread's inbox (none until the first table).
#[derive(Debug, Default)]
pub struct DropBeside {
    inbox: Option<SyncSender<Garbage>>,
}

impl DropBeside {
    pub fn new() -> Self {
        Self::default()
    }

    /// Let `garbage` go on the dropping thread, or here when that thread is
    /// busy or cannot be had.
    pub fn drop_later(&mut self, garbage: Garbage) {
        let garbage = match &self.inbox {
            Some(inbox) => match inbox.try_send(garbage) {
                Ok(()) => return,
                Err(TrySendError::Full(g)) => return drop(g),
                Err(TrySendError::Disconnected(g)) => g,
            },
            None => garbage,
        };
        let (inbox, taken) = sync_channel(1);
        let started = std::thread::Builder::new().name("necromap-drop".into()).spawn(move || drain(&taken));
        if started.is_ok() && inbox.try_send(garbage).is_ok() {
            self.inbox = Some(inbox);
        }
    }
}

fn drain(taken: &Receiver<Garbage>) {
    while let Ok(garbage) = taken.recv() {
        drop(garbage);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc::{Receiver, Sender, channel};
    use std::sync::{Arc, Mutex};
    use std::thread::ThreadId;
    use std::time::{Duration, Instant};

    type Seen = Arc<Mutex<Vec<(u32, ThreadId)>>>;

    /// Records its number and the thread it is dropped on; a held one
    /// says it is being dropped and waits to be let go.
    struct Marked {
        n: u32,
        seen: Seen,
        held: Option<(Sender<()>, Receiver<()>)>,
    }

    impl Drop for Marked {
        fn drop(&mut self) {
            if let Some((entered, release)) = self.held.take() {
                let _ = entered.send(());
                let _ = release.recv_timeout(Duration::from_secs(10));
            }
            self.seen.lock().expect("seen").push((self.n, std::thread::current().id()));
        }
    }

    fn marked(n: u32, seen: &Seen) -> Garbage {
        Box::new(Marked { n, seen: Arc::clone(seen), held: None })
    }

    fn wait_for(n: usize, seen: &Seen) -> Vec<(u32, ThreadId)> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let got = seen.lock().expect("seen").clone();
            if got.len() >= n || Instant::now() > deadline {
                return got;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    #[test]
    fn tables_are_dropped_on_another_thread_and_each_exactly_once() {
        let seen = Seen::default();
        let here = std::thread::current().id();
        let mut beside = DropBeside::new();
        beside.drop_later(marked(0, &seen));
        let first = wait_for(1, &seen);
        assert_eq!(first.len(), 1);
        assert_ne!(first[0].1, here, "the table goes on the dropping thread");
        for n in 1..20 {
            beside.drop_later(marked(n, &seen));
        }
        let mut got: Vec<u32> = wait_for(20, &seen).into_iter().map(|(n, _)| n).collect();
        got.sort_unstable();
        assert_eq!(got, (0..20).collect::<Vec<_>>(), "every table is dropped, none twice");
    }

    #[test]
    fn a_busy_thread_leaves_the_next_table_to_the_caller() {
        let seen = Seen::default();
        let here = std::thread::current().id();
        let (entered_tx, entered) = channel();
        let (release, release_rx) = channel();
        let mut beside = DropBeside::new();
        beside.drop_later(Box::new(Marked { n: 0, seen: Arc::clone(&seen), held: Some((entered_tx, release_rx)) }));
        entered.recv_timeout(Duration::from_secs(10)).expect("the dropping thread took the first table");
        beside.drop_later(marked(1, &seen)); // waits in the inbox
        beside.drop_later(marked(2, &seen)); // inbox full: dropped here, now
        assert_eq!(seen.lock().expect("seen").as_slice(), &[(2, here)]);
        release.send(()).expect("the held table waits");
        let got = wait_for(3, &seen);
        assert_eq!(got.len(), 3);
        assert!(got[1..].iter().all(|&(n, t)| n != 2 && t != here), "{got:?}");
    }
}

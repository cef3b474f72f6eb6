use super::{MAX_SPIKE, Runs};
use crate::model::{Protocol, RawSocket, SocketKey, SocketState};

/// A row whose inode says where it was made, to tell rows apart.
fn row(protocol: Protocol, cookie: u64, id: u32) -> RawSocket {
    RawSocket {
        key: SocketKey { protocol, cookie },
        state: SocketState::Established,
        local: ([127, 0, 0, 1], 1).into(),
        remote: ([127, 0, 0, 1], 2).into(),
        inode: id,
        uid: 0,
        owners: crate::model::Owners::default(),
        tcp: None,
        recv_queue: 0,
        send_queue: 0,
        netns: None,
    }
}

fn tcp(cookies: impl IntoIterator<Item = u64>) -> Vec<RawSocket> {
    cookies.into_iter().enumerate().map(|(i, c)| row(Protocol::Tcp, c, i as u32)).collect()
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// Merged: every row exactly once, in key order.
fn assert_merges(rows: Vec<RawSocket>, what: &str) {
    let n = rows.len();
    let mut want: Vec<(SocketKey, u32)> = rows.iter().map(|r| (r.key, r.inode)).collect();
    want.sort_unstable();
    let mut runs = Runs::of(rows).unwrap_or_else(|_| panic!("{what}: not merged"));
    assert_eq!(runs.remaining(), n, "{what}");
    let (rows, merge) = runs.parts();
    let at: Vec<usize> = std::iter::from_fn(|| merge.next_at(rows)).collect();
    let got: Vec<(SocketKey, u32)> = at.iter().map(|&i| (rows[i].key, rows[i].inode)).collect();
    assert!(got.windows(2).all(|w| w[0].0 <= w[1].0), "{what}: out of key order");
    let mut same = got.clone();
    same.sort_unstable();
    assert_eq!(same, want, "{what}: rows lost or repeated");
}

#[test]
fn runs_as_the_live_dump_gives_them_are_merged() {
    assert_merges(tcp(0..10_000), "one run");
    // Two dump halves taking cookies in turn, 2,048 at a time.
    let (a, b): (Vec<u64>, Vec<u64>) = (0..20_000u64).partition(|c| (c / 2_048) % 2 == 0);
    assert_merges(tcp(a.iter().chain(&b).copied()), "two halves");
    // One half ascending, the other's blocks in another order (measured
    // live: 26 runs).
    let mut blocks: Vec<&[u64]> = b.chunks(2_048).collect();
    blocks.reverse();
    assert_merges(tcp(a.iter().copied().chain(blocks.into_iter().flatten().copied())), "blocks");
    // TCP, then UDP with lower cookies, then another namespace's TCP.
    let mut rows = tcp(1_000..6_000);
    rows.extend((0..3_000).map(|c| row(Protocol::Udp, c, 90_000 + c as u32)));
    rows.extend((500..900).map(|c| row(Protocol::Tcp, c, 80_000 + c as u32)));
    assert_merges(rows, "protocols and namespaces");
    // Equal keys in different runs.
    assert_merges(tcp((0..5_000).chain(0..5_000)), "equal keys");
}

/// New sockets get cookies above every old one at their hash positions,
/// ascending: single spikes and spikes in a row, up to the most a run
/// gives up; longer bursts start runs of their own, and a few of those
/// merge too.
#[test]
fn new_sockets_between_old_ones_are_merged() {
    for burst in 1..=MAX_SPIKE + 2 {
        // Bursts apart from each other: one in each 200 old rows.
        let bursts = if burst <= MAX_SPIKE { 100 } else { 20 };
        let mut cookies: Vec<u64> = Vec::new();
        let mut next_new = 1_000_000;
        for old in 0..20_000u64 {
            cookies.push(old);
            if old % 200 == 100 + (old / 200 * 37) % 50 && old / 200 < bursts {
                cookies.extend(next_new..next_new + burst as u64);
                next_new += burst as u64;
            }
        }
        let (runs, spikes) = super::find(&tcp(cookies.clone())).expect("runs");
        if burst <= MAX_SPIKE {
            assert_eq!((runs.len(), spikes.len()), (1, 100 * burst), "bursts of {burst}");
        } else {
            assert_eq!((runs.len(), spikes.len()), (21, 0), "bursts of {burst}");
        }
        assert_merges(tcp(cookies), &format!("bursts of {burst}"));
    }
    // An old socket out of place (a lower cookie among higher ones).
    let mut cookies: Vec<u64> = (100..20_100).collect();
    for i in (500..20_000).step_by(1_000) {
        cookies[i] = 7 + i as u64 / 1_000;
    }
    assert_merges(tcp(cookies), "dips");
}

/// Rows in no order, too many spikes or too many runs are given back to
/// be sorted, all of them.
#[test]
fn rows_far_from_key_order_are_given_back() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let shuffled = tcp((0..10_000).map(|_| rng.next() % 1_000_000));
    let given = Runs::of(shuffled.clone()).map(|_| ()).expect_err("shuffled rows merged");
    assert_eq!(given, shuffled);
    // One spike every eight rows.
    let cookies: Vec<u64> = (0..10_000u64).map(|i| if i % 8 == 3 { 1_000_000 + i } else { i }).collect();
    assert!(Runs::of(tcp(cookies)).is_err(), "spikes every eight rows");
    // 100 runs of 100.
    let cookies: Vec<u64> = (0..100u64).flat_map(|r| (0..100).map(move |i| i * 100 + r)).collect();
    assert!(Runs::of(tcp(cookies)).is_err(), "100 runs");
    // Small tables are sorted unless nearly one run.
    assert!(Runs::of(tcp([3, 1, 2])).is_err());
    assert!(Runs::of(tcp(0..100)).is_ok());
    assert!(Runs::of(Vec::new()).is_ok_and(|r| r.remaining() == 0));
}

/// The emptied table is the rows' own memory.
#[test]
fn the_emptied_table_is_the_dump_s_memory() {
    let rows = tcp((0..5_000).chain(10_000..15_000));
    let at = rows.as_ptr() as usize;
    let mut runs = Runs::of(rows).expect("two runs");
    let (rows, merge) = runs.parts();
    assert_eq!(std::iter::from_fn(|| merge.next_at(rows)).count(), 10_000);
    assert_eq!(runs.remaining(), 0);
    let table = runs.into_table();
    assert!(table.is_empty());
    assert_eq!(table.as_ptr() as usize, at);
}

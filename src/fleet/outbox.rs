//! The agent's outbox, in the local event store (`fleet_outbox`): each
//! refresh's batch is committed there first, so nothing is lost while
//! PostgreSQL is away, and leaves only once PostgreSQL committed it.
//! Sequence numbers grow and are never reused; with the store's stream id
//! they make the idempotent key (host, stream, seq).
//!
//! Bounded: at [`Outbox::capacity`] batches the newest is not queued; the
//! gap is counted (health) and the next batch queued is a resync, so the
//! host's current state in PostgreSQL is right again once it is sent.

use std::path::Path;

use rusqlite::{Connection, OptionalExtension, params};

use super::FleetError;
use super::batch::Batch;

/// Default bound: a day of refreshes every 5 s is 17,280 batches.
pub const DEFAULT_CAPACITY: usize = 20_000;

#[derive(Debug)]
pub struct Outbox {
    conn: Connection,
    stream: i64,
    capacity: usize,
}

/// What happened to a batch offered to the outbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Queued {
    /// Queued with this sequence number.
    At(i64),
    /// The outbox is full: not queued.
    Full,
}

impl Outbox {
    /// Open (creating) the outbox in the store at `path`.
    pub fn open(path: &Path, capacity: usize) -> Result<Self, FleetError> {
        let conn = crate::store::open(path)?;
        let stream = if let Some(v) = conn.query_row("SELECT value FROM fleet_state WHERE key = 'stream'", [], |r| r.get::<_, String>(0)).optional()? {
            v.parse::<i64>().map_err(|_| FleetError::HostId(format!("fleet_state stream `{}` is not a number", crate::text::bounded(&v, 40))))?
        } else {
            let mut b = [0u8; 8];
            rustix::rand::getrandom(&mut b, rustix::rand::GetRandomFlags::empty()).map_err(|e| FleetError::Runtime(e.into()))?;
            let stream = i64::from_le_bytes(b) & i64::MAX;
            conn.execute("INSERT INTO fleet_state (key, value) VALUES ('stream', ?1)", params![stream.to_string()])?;
            stream
        };
        Ok(Self { conn, stream, capacity: capacity.max(1) })
    }

    /// The stream id of this store.
    pub fn stream(&self) -> i64 {
        self.stream
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Batches waiting.
    pub fn depth(&self) -> Result<usize, FleetError> {
        Ok(self.conn.query_row("SELECT count(*) FROM fleet_outbox", [], |r| r.get::<_, i64>(0))? as usize)
    }

    /// Queue a batch, unless the outbox is full.
    pub fn push(&mut self, batch: &Batch) -> Result<Queued, FleetError> {
        if self.depth()? >= self.capacity {
            return Ok(Queued::Full);
        }
        let body = serde_json::to_string(batch)?;
        self.conn.execute("INSERT INTO fleet_outbox (at_ms, rows, body) VALUES (?1, ?2, ?3)", params![batch.at_ms, batch.rows() as i64, body])?;
        Ok(Queued::At(self.conn.last_insert_rowid()))
    }

    /// The oldest `n` batches, in order.
    pub fn oldest(&self, n: usize) -> Result<Vec<(i64, Batch)>, FleetError> {
        let mut stmt = self.conn.prepare_cached("SELECT seq, body FROM fleet_outbox ORDER BY seq LIMIT ?1")?;
        let rows = stmt.query_map(params![n as i64], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))?;
        let mut out = Vec::new();
        for row in rows {
            let (seq, body) = row?;
            out.push((seq, serde_json::from_str(&body)?));
        }
        Ok(out)
    }

    /// Forget the batch `seq` (PostgreSQL has it).
    pub fn remove(&self, seq: i64) -> Result<(), FleetError> {
        self.conn.execute("DELETE FROM fleet_outbox WHERE seq = ?1", params![seq])?;
        Ok(())
    }

    /// A counter kept in `fleet_state` (batches dropped when full).
    pub fn counter(&self, key: &str) -> Result<u64, FleetError> {
        let v: Option<String> = self.conn.query_row("SELECT value FROM fleet_state WHERE key = ?1", params![key], |r| r.get(0)).optional()?;
        Ok(v.and_then(|v| v.parse().ok()).unwrap_or(0))
    }

    pub fn add_to_counter(&self, key: &str, n: u64) -> Result<u64, FleetError> {
        let total = self.counter(key)? + n;
        self.conn.execute("INSERT OR REPLACE INTO fleet_state (key, value) VALUES (?1, ?2)", params![key, total.to_string()])?;
        Ok(total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(at_ms: i64) -> Batch {
        Batch { at_ms, host_name: "h".into(), ..Batch::default() }
    }

    #[test]
    fn batches_leave_in_order_and_numbers_are_never_reused() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("events.db");
        let mut o = Outbox::open(&path, 3).expect("open");
        let stream = o.stream();
        assert_eq!(o.push(&batch(1)).expect("push"), Queued::At(1));
        assert_eq!(o.push(&batch(2)).expect("push"), Queued::At(2));
        assert_eq!(o.push(&batch(3)).expect("push"), Queued::At(3));
        assert_eq!(o.push(&batch(4)).expect("push"), Queued::Full);
        let first = o.oldest(2).expect("read");
        assert_eq!(first.iter().map(|(s, b)| (*s, b.at_ms)).collect::<Vec<_>>(), vec![(1, 1), (2, 2)]);
        o.remove(1).expect("rm");
        o.remove(2).expect("rm");
        o.remove(3).expect("rm");
        drop(o);
        // Reopened: the same stream, and the numbers go on.
        let mut o = Outbox::open(&path, 3).expect("reopen");
        assert_eq!(o.stream(), stream);
        assert_eq!(o.push(&batch(5)).expect("push"), Queued::At(4));
        assert_eq!(o.add_to_counter("dropped", 2).expect("count"), 2);
        assert_eq!(o.add_to_counter("dropped", 1).expect("count"), 3);
    }
}

//! Which namespaces a refresh reads.

use super::{Activity, ROTATION, choose};

/// `n` entered namespaces, all read at refresh 5 except the first two,
/// read at refreshes 1 and 2.
fn entered(n: u32) -> Vec<(u32, u64)> {
    (0..n).map(|i| (1000 + i, if i < 2 { u64::from(i) + 1 } else { 5 })).collect()
}

#[test]
fn few_namespaces_are_all_read() {
    let c = entered(ROTATION as u32);
    assert_eq!(choose(&c, &Activity::default()).len(), ROTATION);
}

#[test]
fn many_quiet_namespaces_read_the_active_and_the_oldest() {
    let c = entered(50);
    let mut activity = Activity::default();
    activity.namespaces.insert(1040);
    let chosen = choose(&c, &activity);
    assert_eq!(chosen.len(), ROTATION + 1, "the active one and a rotation: {chosen:?}");
    assert!(chosen.contains(&1040) && chosen.contains(&1000) && chosen.contains(&1001), "active and read longest ago: {chosen:?}");
}

#[test]
fn after_lost_events_every_namespace_is_read() {
    let c = entered(50);
    let activity = Activity { events_lost: true, ..Activity::default() };
    let chosen = choose(&c, &activity);
    assert_eq!(chosen.len(), 50, "an overrun resynchronises every namespace");
    assert!(c.iter().all(|(i, _)| chosen.contains(i)));
}

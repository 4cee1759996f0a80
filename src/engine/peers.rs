//! Tabs of one site share one prober and every verdict: the elected instance runs the
//! periodic probes, each verdict is broadcast, and the others adopt it (source `peer`).

use super::{adopt, probe, remember, Inner};
use crate::cat;
use crate::core::cache;
use crate::core::{Source, State};
use crate::platform::channel::Channel;
use crate::platform::election::Election;
use crate::platform::{env, json};
use alloc::rc::{Rc, Weak};

/// Joins the election and the channel, once per start.
pub fn join(inner: &Rc<Inner>) {
    let name = cat!(
        "health-proxy:",
        inner.config.cache.key,
        ':',
        inner.config.leader.as_str()
    );
    if inner.channel.borrow().is_none() {
        let weak = Rc::downgrade(inner);
        let channel = Channel::open(&name, move |text| {
            if let Some(inner) = weak.upgrade() {
                from_peer(&inner, &text);
            }
        });
        *inner.channel.borrow_mut() = channel;
    }
    if inner.election.borrow().is_none() {
        let weak: Weak<Inner> = Rc::downgrade(inner);
        let on_elected = Rc::new(move || {
            if let Some(inner) = weak.upgrade() {
                // Off the caller's stack: election callbacks may run inside `join`.
                crate::platform::spawn(async move { take_over(&inner) });
            }
        });
        // A lease outlives a few missed renewals; it is renewed every third of it.
        let lease_ms = inner.config.health.interval_ms.saturating_mul(3);
        let election = Election::start(&name, lease_ms, on_elected);
        *inner.election.borrow_mut() = Some(election);
    }
}

pub fn leave(inner: &Inner) {
    inner.election.borrow_mut().take();
    inner.channel.borrow_mut().take();
}

/// True when this instance runs the periodic probes (or there is no one to share with).
pub fn is_prober(inner: &Inner) -> bool {
    inner
        .election
        .borrow()
        .as_ref()
        .is_none_or(|e| e.is_prober())
}

/// Tells the other tabs about a verdict this instance reached itself (its cache encoding).
pub fn share(inner: &Inner, text: &str) {
    if let Some(channel) = inner.channel.borrow().as_ref() {
        channel.post(text);
    }
}

/// Newly elected: probe when the current verdict falls due.
fn take_over(inner: &Rc<Inner>) {
    if !inner.running.get() || inner.probe.borrow().is_some() {
        return;
    }
    let snapshot = inner.machine.borrow().snapshot();
    let due = match (snapshot.state, snapshot.checked_at) {
        (State::Leader, Some(at)) => {
            at + f64::from(inner.config.health.interval_ms) - env::now_ms()
        }
        _ => 0.0,
    };
    probe::schedule(
        inner,
        due.clamp(0.0, f64::from(inner.config.health.interval_ms)) as u32,
    );
}

/// A verdict from another tab: taken when it is newer than ours.
fn from_peer(inner: &Inner, text: &str) {
    let entry = json::parse(text);
    let Some(mut snapshot) =
        entry.and_then(|e| cache::decode(&e, &inner.config.leader, env::now_ms(), u32::MAX))
    else {
        return;
    };
    let ours = inner.machine.borrow().snapshot().checked_at;
    if ours.is_some_and(|t| snapshot.checked_at.is_none_or(|theirs| theirs <= t)) {
        return;
    }
    snapshot.source = Source::Peer;
    remember(inner, &snapshot);
    adopt(inner, snapshot);
}

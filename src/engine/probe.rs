//! Probe rounds: the leader, then the follower only if the leader failed. Concurrent
//! callers share one round; each round schedules the next. A read racing a silent leader
//! (spec §8) asks for a leader-only round, so its failover costs no follower probe.

use super::{notify, peers, remember, Inner};
use crate::core::machine::Outcome;
use crate::core::{Snapshot, Source};
use crate::platform::env;
use crate::platform::http;
use crate::platform::timer::Timeout;
use alloc::rc::Rc;
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;

/// The round in flight: its promise (for sharing) and the controller `stop()` aborts.
pub struct InFlight {
    promise: js_sys::Promise,
    controller: web_sys::AbortController,
}

/// Joins the round in flight, or starts one; resolves with the verdict after it.
pub async fn shared(inner: &Rc<Inner>, source: Source) -> Snapshot {
    joined(inner, source, false).await
}

/// As [`shared`], but a round started here probes the leader only and takes a failure
/// as `emergency` (spec §8): the read that asked goes to the follower next, and if the
/// follower fails too, that failure triggers a full round.
pub async fn leader_only(inner: &Rc<Inner>) -> Snapshot {
    joined(inner, Source::Request, true).await
}

async fn joined(inner: &Rc<Inner>, source: Source, leader_only: bool) -> Snapshot {
    let promise = start(inner, source, leader_only);
    if let Some(promise) = promise {
        let _ = JsFuture::from(promise).await;
    }
    inner.machine.borrow().snapshot()
}

/// Starts a round in the background (or lets the one in flight stand).
pub fn spawn(inner: &Rc<Inner>, source: Source) {
    let _ = start(inner, source, false);
}

pub fn abort(inner: &Inner) {
    if let Some(in_flight) = inner.probe.borrow_mut().take() {
        in_flight.controller.abort();
    }
}

fn start(inner: &Rc<Inner>, source: Source, leader_only: bool) -> Option<js_sys::Promise> {
    if let Some(in_flight) = inner.probe.borrow().as_ref() {
        return Some(in_flight.promise.clone());
    }
    let controller = web_sys::AbortController::new().ok()?;
    let signal = controller.signal();
    let task = {
        let inner = inner.clone();
        async move {
            round(&inner, source, leader_only, signal).await;
            Ok(JsValue::UNDEFINED)
        }
    };
    let promise = crate::platform::promise(task);
    *inner.probe.borrow_mut() = Some(InFlight {
        promise: promise.clone(),
        controller,
    });
    Some(promise)
}

async fn round(inner: &Rc<Inner>, source: Source, leader_only: bool, signal: web_sys::AbortSignal) {
    let generation = inner.generation.get();
    let config = &inner.config;
    let health = &config.health;
    let leader = config.leader.as_str();
    let follower = config.follower.as_str();

    let started = env::now_ms();
    let leader_up = http::probe(
        &config.leader.join(&health.path),
        leader,
        health.timeout_ms,
        health.expect.as_deref(),
        &signal,
    )
    .await;
    let outcome = if leader_up {
        Outcome::LeaderUp {
            latency_ms: env::now_ms() - started,
        }
    } else if leader_only {
        Outcome::LeaderDown { follower_up: true }
    } else {
        let follower_up = http::probe(
            &config.follower.join(&health.follower_path),
            follower,
            health.timeout_ms,
            None,
            &signal,
        )
        .await;
        Outcome::LeaderDown { follower_up }
    };

    if inner.generation.get() != generation {
        return; // stop() ended this round: its outcome is an abort, not a verdict
    }
    inner.probe.borrow_mut().take();
    let step = inner
        .machine
        .borrow_mut()
        .observe(outcome, env::now_ms(), source, env::random());
    if let Some(text) = remember(inner, &step.snapshot) {
        peers::share(inner, &text);
    }
    if step.changed {
        notify(inner, &step.snapshot);
    }
    // Only the elected prober keeps the schedule; the other tabs hear its verdicts.
    if inner.running.get() && peers::is_prober(inner) {
        schedule(inner, step.next_probe_ms);
    }
}

pub fn schedule(inner: &Rc<Inner>, delay_ms: u32) {
    let weak = Rc::downgrade(inner);
    let timer = Timeout::new(delay_ms, move || {
        if let Some(inner) = weak.upgrade() {
            // Off the timer callback, so replacing this timer never drops a running closure.
            crate::platform::spawn(async move { spawn(&inner, Source::Probe) });
        }
    });
    // Replacing the handle clears any timer still pending.
    *inner.timer.borrow_mut() = Some(timer);
}

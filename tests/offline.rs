//! Spec §2 "`offline` heals on the visitor's next action", in every engine: an `offline`
//! that came from probes is looked at again by the next request (a probe round, at most
//! one a second), a starting instance does not take another's `offline` without a round,
//! and the browser's own `offline` event still refuses at once. Each test fails with its
//! rule taken out (shown in Chromium; the commit that says so names the failures).
#![cfg(target_arch = "wasm32")]

mod support;

use support::*;
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// Both sides dark as the client sees them when its uplink drops: the leader's packets
/// dropped (a probe hangs to its deadline), the follower unreachable. No `offline` event.
async fn line_down() {
    leader_mode("blackout").await;
    follower_mode("refused").await;
}

async fn line_back() {
    leader_mode("up").await;
    follower_mode("up").await;
}

fn checked_at(p: &health_proxy::HealthProxy) -> f64 {
    field(&p.snapshot(), "checkedAt").as_f64().unwrap()
}

fn fire(event: &str) {
    js(&format!("globalThis.dispatchEvent(new Event('{event}'))"));
}

/// The issue's trap: after both sides went dark without an `offline` event and came
/// back, the next `proxy.fetch` is served, within `health.timeoutMs` + the follower
/// probe of the line's return (the old rule refused it until the backoff's next probe).
#[wasm_bindgen_test]
async fn offline_from_probes_heals_on_the_next_request() {
    reset().await;
    let p = proxy(r#"{"hysteresis":{"successesToUp":1}}"#);
    assert_eq!(text(&start(&p).await, "state"), "leader");
    line_down().await;
    assert_eq!(text(&check(&p).await, "state"), "offline");
    // A visitor clicking while the line is dark: each click is refused OFFLINE, after a
    // round when one is due. Until four rounds have run, so that the backoff puts the
    // next scheduled probe at least 4 s after the last one (the test's own clock below).
    let dark = stats().await.n("leader.probes");
    let mut refused = 0;
    while stats().await.n("leader.probes") - dark < 4.0 {
        let e = fetch_err(&p, "/api/pages", None::<JsValue>).await;
        assert_eq!(code(&e), "OFFLINE");
        refused += 1;
        sleep(300).await;
    }
    assert!(refused > 0);
    // The line returns more than a second after the last round began (so the next
    // request may start one, spec §2) and before any scheduled probe.
    while now() - checked_at(&p) < 1000.0 {
        sleep(50).await;
    }
    assert_eq!(state(&p), "offline");
    line_back().await;
    let back = now();
    let r = fetch_ok(&p, "/api/pages", None::<JsValue>).await;
    let took = now() - back;
    assert!(r.url().starts_with(LEADER), "{}", r.url());
    assert_eq!(state(&p), "leader");
    web_sys::console::log_1(
        &format!("offline heals: the line's return to the first good read: {took} ms").into(),
    );
    // health.timeoutMs (400) + the follower probe (400).
    assert!(
        took < 800.0,
        "the first read after the line returned took {took} ms"
    );
    p.stop();
}

/// Requests in a row while the line stays dark start at most one probe round a second
/// between them (the scheduled ones included), and none is refused from a verdict older
/// than itself: one made within a second of a round waits for the next round (spec §2:
/// `OFFLINE` only when a round finds the client still cut off).
#[wasm_bindgen_test]
async fn requests_in_a_row_while_offline_make_at_most_one_round_a_second() {
    use std::{cell::RefCell, rc::Rc};
    reset().await;
    let p = Rc::new(proxy("{}"));
    assert_eq!(text(&start(&p).await, "state"), "leader");
    // Fast failures, so that rounds cost nothing and only the limit bounds them.
    leader_mode("app-down").await;
    follower_mode("down").await;
    assert_eq!(text(&check(&p).await, "state"), "offline");
    let before = stats().await.n("leader.probes");
    let began = now();
    // (made at, settled at, code, the verdict's checkedAt when it settled)
    let settled = Rc::new(RefCell::new(Vec::<(f64, f64, String, f64)>::new()));
    let mut made = 0;
    while now() - began < 5000.0 {
        let (p, out, at) = (p.clone(), settled.clone(), now());
        wasm_bindgen_futures::spawn_local(async move {
            let e = fetch_err(&p, "/api/pages", None::<JsValue>).await;
            out.borrow_mut().push((at, now(), code(&e), checked_at(&p)));
        });
        made += 1;
        sleep(50).await;
    }
    let window = now() - began;
    let rounds = stats().await.n("leader.probes") - before;
    // The last requests wait for the next round: a second, and the round's own time.
    for _ in 0..100 {
        if settled.borrow().len() == made {
            break;
        }
        sleep(50).await;
    }
    let settled = settled.borrow();
    let longest = settled.iter().map(|s| s.1 - s.0).fold(0.0, f64::max);
    web_sys::console::log_1(
        &format!("{made} requests in {window} ms while offline: {rounds} probe rounds; the longest waited {longest} ms").into(),
    );
    assert_eq!(settled.len(), made, "requests left unsettled");
    // A second's wait and a round of fast failures, with room for a loaded machine.
    assert!(longest < 2500.0, "a request waited {longest} ms");
    assert!(made >= 20, "only {made} requests");
    assert!(
        rounds <= (window / 1000.0).ceil() + 1.0,
        "{rounds} rounds in {window} ms"
    );
    for (at, end, code, verdict_at) in settled.iter() {
        assert_eq!(code, "OFFLINE");
        assert!(
            verdict_at > at,
            "a request made at {at} refused from a verdict of {verdict_at} (settled at {end})"
        );
    }
    p.stop();
}

/// A second proxy started in the outage's tail (the line is back, the first still says
/// `offline`) probes instead of taking the first's `offline`, from the cache or from the
/// tab that probes.
#[wasm_bindgen_test]
async fn a_proxy_started_in_the_outages_tail_probes_instead_of_taking_offline() {
    for storage in ["local", "none"] {
        reset().await;
        let key = format!("offline-tail-{storage}-{}", js_sys::Math::random());
        let shared = format!(r#"{{"cache":{{"storage":"{storage}","key":"{key}"}}}}"#);
        let first = proxy(&shared);
        assert_eq!(text(&start(&first).await, "state"), "leader");
        leader_mode("app-down").await;
        follower_mode("down").await;
        assert_eq!(text(&check(&first).await, "state"), "offline");
        line_back().await;
        let before = stats().await.n("leader.probes");
        let second = proxy(&shared);
        let snap = start(&second).await;
        let probes = stats().await.n("leader.probes") - before;
        assert_eq!(
            text(&snap, "state"),
            "leader",
            "storage {storage}: {snap:?}"
        );
        assert!(probes >= 1.0, "storage {storage}: started without a probe");
        first.stop();
        second.stop();
        js(&format!("globalThis.localStorage?.removeItem('{key}')"));
    }
}

/// The browser's own `offline` event keeps today's rule: refused at once, no probe, for
/// as long as it lasts (a second later too); `online` probes.
#[wasm_bindgen_test]
async fn the_offline_event_still_refuses_at_once_with_no_probe() {
    reset().await;
    let p = proxy("{}");
    assert_eq!(text(&start(&p).await, "state"), "leader");
    fire("offline");
    assert_eq!(state(&p), "offline");
    let before = stats().await;
    for wait in [0, 1100] {
        sleep(wait).await;
        let t0 = now();
        let e = fetch_err(&p, "/api/pages", None::<JsValue>).await;
        assert_eq!(code(&e), "OFFLINE");
        let took = now() - t0;
        assert!(took < 100.0, "refused after {took} ms");
    }
    let after = stats().await;
    for n in ["leader.requests", "follower.requests"] {
        assert_eq!(after.n(n), before.n(n), "{n}: something was sent");
    }
    fire("online");
    for _ in 0..40 {
        if state(&p) == "leader" {
            break;
        }
        sleep(50).await;
    }
    assert_eq!(state(&p), "leader");
    p.stop();
}

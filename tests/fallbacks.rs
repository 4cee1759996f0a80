//! The package's fallbacks where a browser lacks an API it uses, proven in every engine by
//! hiding the API from the page: no Web Locks → a localStorage lease elects the prober;
//! neither → each instance probes for itself; Web Storage that throws → memory only.
#![cfg(target_arch = "wasm32")]

mod support;

use health_proxy::HealthProxy;
use support::*;
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// Runs `body` (statements, with a `return` for a result) as a function in the page;
/// `support::js` evaluates one expression instead.
fn run_in_page(body: &str) -> JsValue {
    js_sys::Function::new_no_args(body)
        .call0(&JsValue::NULL)
        .unwrap_or_else(|e| panic!("page script failed: {e:?}\n{body}"))
}

/// Shadows `target.name` (`target` evaluated in the page) with `descriptor`, remembering
/// the original so that `restore_apis` can put it back.
fn hide(target: &str, name: &str, descriptor: &str) {
    run_in_page(&format!(
        "const o = {target}; \
         (globalThis.__hpHidden ||= []).push([o, '{name}', Object.getOwnPropertyDescriptor(o, '{name}')]); \
         Object.defineProperty(o, '{name}', Object.assign({{ configurable: true }}, {descriptor}));"
    ));
}

/// Undoes every `hide`, newest first. Each test starts with it, so a test that failed
/// half-way does not leave an API hidden for the next one.
fn restore_apis() {
    run_in_page(
        "for (const [o, name, own] of (globalThis.__hpHidden || []).reverse()) { \
          if (own) Object.defineProperty(o, name, own); else delete o[name]; \
        } \
        globalThis.__hpHidden = [];",
    );
}

fn page_says(expr: &str) -> bool {
    run_in_page(&format!("return !!({expr});")) == JsValue::TRUE
}

async fn fresh() {
    restore_apis();
    reset().await;
}

fn unique(what: &str) -> String {
    format!("fallbacks-{what}-{}", now() as u64)
}

/// Leader probes the simulator saw during the next `ms` milliseconds.
async fn probes_during(ms: i32) -> f64 {
    let before = stats().await.n("leader.probes");
    sleep(ms).await;
    stats().await.n("leader.probes") - before
}

/// Polls until `p` is in `want`, for at most `ms`; returns the last state seen.
async fn wait_state(p: &HealthProxy, want: &str, ms: f64) -> String {
    let until = now() + ms;
    while state(p) != want && now() < until {
        sleep(50).await;
    }
    state(p)
}

/// Two instances of one site (same `cache.key` and leader), as two tabs would be, probing
/// every second.
async fn two_tabs(what: &str, storage: &str) -> (HealthProxy, HealthProxy) {
    let cfg = format!(
        r#"{{"health":{{"intervalMs":1000}},"cache":{{"storage":"{storage}","key":"{}"}}}}"#,
        unique(what)
    );
    let a = proxy(&cfg);
    let b = proxy(&cfg);
    assert_eq!(text(&start(&a).await, "state"), "leader");
    assert_eq!(text(&start(&b).await, "state"), "leader");
    // Let the start-up probes settle before counting the periodic ones.
    sleep(500).await;
    (a, b)
}

#[wasm_bindgen_test]
async fn without_web_locks_a_local_storage_lease_elects_one_prober() {
    fresh().await;
    hide("navigator", "locks", "{ value: undefined }");
    assert!(page_says("navigator.locks === undefined"));
    assert!(page_says("localStorage instanceof Storage"));
    let (a, b) = two_tabs("lease", "none").await;
    // One prober at 1 s: about 3 probes in 3 s; two independent probers would make about 6.
    let probes = probes_during(3000).await;
    assert!(
        (2.0..=4.0).contains(&probes),
        "{probes} leader probes in 3 s from two instances: expected one prober"
    );
    assert_eq!(
        text(&b.snapshot(), "source"),
        "peer",
        "the second instance should adopt the prober's verdicts"
    );
    // The prober leaves (its tab closes): the lease passes to the other instance.
    a.stop();
    sleep(1500).await;
    let probes = probes_during(3000).await;
    assert!(
        (2.0..=4.0).contains(&probes),
        "{probes} leader probes in 3 s after the prober stopped: the lease was not taken over"
    );
    assert_eq!(state(&b), "leader");
    b.stop();
    restore_apis();
}

#[wasm_bindgen_test]
async fn without_web_locks_or_web_storage_each_instance_probes_for_itself() {
    fresh().await;
    hide("navigator", "locks", "{ value: undefined }");
    hide(
        "globalThis",
        "localStorage",
        "{ get() { throw new DOMException('blocked', 'SecurityError'); } }",
    );
    assert!(page_says("navigator.locks === undefined"));
    let (a, b) = two_tabs("alone", "local").await;
    // Nothing to elect through: both keep their own verdicts fresh, about 8 probes in 4 s
    // (one prober would make at most 5).
    let probes = probes_during(4000).await;
    assert!(
        probes >= 6.0,
        "{probes} leader probes in 4 s: each instance should probe for itself"
    );
    // Both still follow the leader on their own.
    leader_mode("app-down").await;
    assert_eq!(wait_state(&a, "emergency", 3000.0).await, "emergency");
    assert_eq!(wait_state(&b, "emergency", 3000.0).await, "emergency");
    a.stop();
    b.stop();
    restore_apis();
}

// With no channel a verdict cannot be heard from a prober, so there is no election:
// every instance probes for itself (Safari before 15.4 has neither Web Locks nor
// BroadcastChannel).
#[wasm_bindgen_test]
async fn without_broadcast_channel_every_instance_still_follows_the_leader() {
    fresh().await;
    hide("globalThis", "BroadcastChannel", "{ value: undefined }");
    assert!(page_says("typeof BroadcastChannel === 'undefined'"));
    let (a, b) = two_tabs("no-channel", "local").await;
    leader_mode("app-down").await;
    assert_eq!(wait_state(&a, "emergency", 3000.0).await, "emergency");
    assert_eq!(
        wait_state(&b, "emergency", 3000.0).await,
        "emergency",
        "with no channel to hear the prober on, the other instance must probe itself"
    );
    leader_mode("up").await;
    // Two good probes are needed, re-probed with backoff from 1 s.
    assert_eq!(wait_state(&a, "leader", 8000.0).await, "leader");
    assert_eq!(wait_state(&b, "leader", 8000.0).await, "leader");
    a.stop();
    b.stop();
    restore_apis();
}

/// Web Storage that is there but unusable must leave the verdict in memory: the proxy
/// starts, routes and moves between states as usual, and nothing escapes as an error.
async fn storage_degrades_to_memory(how: &str, descriptor: (&str, &str, &str)) {
    fresh().await;
    let key = unique(how);
    let (target, name, replacement) = descriptor;
    hide(target, name, replacement);
    let p = proxy(&format!(
        r#"{{"cache":{{"storage":"local","key":"{key}"}}}}"#
    ));
    let snap = start(&p).await;
    assert_eq!(text(&snap, "state"), "leader", "{how}");
    assert!(fetch_ok(&p, "/api/pages", JsValue::UNDEFINED)
        .await
        .url()
        .starts_with(LEADER));
    leader_mode("blackout").await;
    let r = fetch_ok(&p, "/api/pages/1", JsValue::UNDEFINED).await;
    assert!(r.url().starts_with(FOLLOWER), "{how}: {}", r.url());
    // The read escaped while the confirmation probe was still out (spec §8: only the probe
    // moves the verdict): its round ends with the follower's health check, which may come
    // back after the read (WebKit, loaded CI: still `leader` when the read resolved).
    assert_eq!(
        wait_state(&p, "emergency", 3000.0).await,
        "emergency",
        "{how}"
    );
    leader_mode("up").await;
    check(&p).await;
    assert_eq!(text(&check(&p).await, "state"), "leader", "{how}");
    p.stop();
    restore_apis();
    assert!(
        page_says(&format!("localStorage.getItem('{key}') === null")),
        "{how}: a verdict reached the storage that refused it"
    );
}

#[wasm_bindgen_test]
async fn storage_that_refuses_writes_degrades_to_memory() {
    // Safari's private mode before 11, or a full quota.
    storage_degrades_to_memory(
        "setItem throws QuotaExceededError",
        (
            "Storage.prototype",
            "setItem",
            "{ value() { throw new DOMException('full', 'QuotaExceededError'); } }",
        ),
    )
    .await;
}

#[wasm_bindgen_test]
async fn storage_that_cannot_be_reached_degrades_to_memory() {
    // Storage blocked by the user's cookie settings, or a sandboxed frame.
    storage_degrades_to_memory(
        "the localStorage getter throws SecurityError",
        (
            "globalThis",
            "localStorage",
            "{ get() { throw new DOMException('blocked', 'SecurityError'); } }",
        ),
    )
    .await;
}

#[wasm_bindgen_test]
async fn absent_storage_degrades_to_memory() {
    // Firefox with dom.storage.enabled = false: localStorage is null.
    storage_degrades_to_memory(
        "localStorage is null",
        ("globalThis", "localStorage", "{ value: null }"),
    )
    .await;
}

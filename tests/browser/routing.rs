//! Spec §2: states and routing — the §2 table, failover of a failed request, hysteresis,
//! flap damping, the retry budget, and reads that follow the verdict.

use super::*;

#[wasm_bindgen_test]
async fn leader_up_routes_everything_to_the_leader_and_nothing_to_the_follower() {
    reset().await;
    let p = proxy("{}");
    assert_eq!(state(&p), "unknown");
    let snap = start(&p).await;
    assert_eq!(text(&snap, "state"), "leader");
    assert_eq!(text(&snap, "source"), "probe");
    assert!(field(&snap, "leaderLatencyMs").as_f64().is_some());
    assert!(field(&snap, "checkedAt").as_f64().unwrap() > 1.7e12);
    assert_eq!(
        p.resolve("/api/pages?x=1".into(), GET).unwrap(),
        format!("{LEADER}/api/pages?x=1")
    );
    assert_eq!(
        p.resolve(
            format!("{FOLLOWER}/api/hub/links").into(),
            Some("POST".into())
        )
        .unwrap(),
        format!("{LEADER}/api/hub/links")
    );
    assert_eq!(served_by(&p, "/api/pages").await, "leader");
    assert_eq!(served_by(&p, "/api/hub/links").await, "leader");
    let r = fetch_ok(&p, "/api/notes", post(r#"{"text":"hi","clientId":"t1"}"#)).await;
    assert_eq!(r.status(), 201);
    let s = stats().await;
    assert_eq!(
        s.n("follower.requests"),
        0.0,
        "the follower saw traffic while the leader was up"
    );
    assert_eq!(s.n("leader.writes"), 1.0);
    assert_eq!(s.n("leader.probes"), 1.0);
    p.stop();
}

#[wasm_bindgen_test]
async fn leader_and_follower_down_is_offline_and_sends_nothing() {
    reset().await;
    leader_mode("refused").await;
    follower_mode("down").await;
    let p = proxy("{}");
    assert_eq!(text(&start(&p).await, "state"), "offline");
    let before = stats().await;
    for (path, method) in [
        ("/api/pages", "GET"),
        ("/api/hub/links", "GET"),
        ("/api/notes", "POST"),
    ] {
        let e = fetch_err(&p, path, init(&format!(r#"{{"method":"{method}"}}"#))).await;
        assert_eq!(code(&e), "OFFLINE", "{method} {path}");
        let e = p.resolve(path.into(), Some(method.into())).unwrap_err();
        assert_eq!(code(&e), "OFFLINE");
    }
    let after = stats().await;
    // Nothing of the caller's; a request may re-check the verdict with a probe (spec §2).
    assert_eq!(after.n("follower.reads"), before.n("follower.reads"));
    assert_eq!(after.n("follower.writes"), 0.0);

    // The follower refusing connections is offline too.
    follower_mode("refused").await;
    assert_eq!(text(&check(&p).await, "state"), "offline");
    p.stop();
}

#[wasm_bindgen_test]
async fn a_critical_read_fails_over_mid_request() {
    for mode in ["app-down", "refused", "blackout"] {
        reset().await;
        let p = proxy("{}");
        assert_eq!(text(&start(&p).await, "state"), "leader");
        leader_mode(mode).await;
        let t0 = now();
        assert_eq!(
            served_by(&p, "/api/pages/1").await,
            "follower",
            "leader {mode}"
        );
        let took = now() - t0;
        let snap = p.snapshot();
        assert_eq!(text(&snap, "state"), "emergency");
        assert_eq!(text(&snap, "source"), "request");
        let s = stats().await;
        assert_eq!(
            s.n("follower.reads"),
            1.0,
            "retried exactly once on the follower"
        );
        web_sys::console::log_1(&format!("mid-request failover, leader {mode}: {took} ms").into());
        p.stop();
    }
}

#[wasm_bindgen_test]
async fn a_non_critical_read_is_not_retried_on_the_follower() {
    reset().await;
    let p = proxy("{}");
    start(&p).await;
    leader_mode("app-down").await;
    let e = fetch_err(&p, "/api/hub/links", GET).await;
    assert_eq!(code(&e), "FEATURE_UNAVAILABLE");
    assert_eq!(stats().await.n("follower.reads"), 0.0);
    p.stop();
}

#[wasm_bindgen_test]
async fn recovery_needs_consecutive_good_probes_then_traffic_returns() {
    reset().await;
    leader_mode("app-down").await;
    let p = proxy(r#"{"hysteresis":{"successesToUp":3}}"#);
    assert_eq!(text(&start(&p).await, "state"), "emergency");
    leader_mode("up").await;
    assert_eq!(text(&check(&p).await, "state"), "emergency");
    assert_eq!(text(&check(&p).await, "state"), "emergency");
    assert_eq!(text(&check(&p).await, "state"), "leader");
    let before = stats().await.n("follower.requests");
    assert_eq!(served_by(&p, "/api/pages").await, "leader");
    assert_eq!(
        stats().await.n("follower.requests"),
        before,
        "the follower saw a read while the leader was up"
    );
    p.stop();
}

#[wasm_bindgen_test]
async fn a_flapping_leader_does_not_flap_the_page() {
    reset().await;
    control("/leader/flapping?ms=1000").await;
    let changes = std::rc::Rc::new(std::cell::Cell::new(0u32));
    let count = |p: &health_proxy::HealthProxy| {
        let changes = changes.clone();
        let f = Closure::<dyn Fn(JsValue)>::new(move |_| changes.set(changes.get() + 1));
        p.on_change(f.into_js_value().into());
    };
    // Five good probes in a row needed; a 1 s up-phase fits at most four at 250 ms.
    let steady = proxy(r#"{"hysteresis":{"successesToUp":5}}"#);
    count(&steady);
    start(&steady).await;
    for _ in 0..20 {
        sleep(250).await;
        check(&steady).await;
    }
    let steady_changes = changes.replace(0);
    // Without hysteresis (nor flap damping) the same leader flips the page back and forth.
    let jumpy = proxy(r#"{"hysteresis":{"successesToUp":1,"halfLifeMs":0}}"#);
    count(&jumpy);
    start(&jumpy).await;
    for _ in 0..20 {
        sleep(250).await;
        check(&jumpy).await;
    }
    let jumpy_changes = changes.get();
    web_sys::console::log_1(&format!("flapping 5 s: {steady_changes} state changes with successesToUp 5, {jumpy_changes} with 1").into());
    assert!(
        steady_changes <= 2,
        "{steady_changes} changes with hysteresis"
    );
    assert!(
        jumpy_changes >= 4,
        "{jumpy_changes} changes without hysteresis"
    );
    steady.stop();
    jumpy.stop();
}

/// A read the follower leaves unanswered in `emergency`: a probe decides (spec §2), not
/// the request: the follower up is `LEADER_UNAVAILABLE`, not `OFFLINE`; the leader back
/// serves it.
#[wasm_bindgen_test]
async fn an_unanswered_follower_read_lets_a_probe_decide() {
    reset().await;
    let p = proxy(r#"{"hysteresis":{"successesToUp":1}}"#);
    leader_mode("refused").await;
    assert_eq!(text(&start(&p).await, "state"), "emergency");
    let api = format!("{FOLLOWER}/api/");
    let dropped = "() => Promise.reject(new TypeError('dropped'))";
    let lossy = OddFetch::install(dropped, &api);
    let e = fetch_err(&p, "/api/pages", GET).await;
    assert_eq!(code(&e), "LEADER_UNAVAILABLE", "{}", message(&e));
    assert_eq!(state(&p), "emergency");
    // The leader is back, unprobed: the follower's failure makes the probe that finds it.
    leader_mode("up").await;
    let r = fetch_ok(&p, "/api/pages", GET).await;
    drop(lossy);
    assert_eq!(text(&json(r).await, "servedBy"), "leader");
    assert_eq!(state(&p), "leader");
    p.stop();
}

#[wasm_bindgen_test]
async fn re_probes_back_off_while_the_leader_is_down() {
    reset().await;
    leader_mode("app-down").await;
    let p = proxy(r#"{"health":{"maxBackoffMs":2000}}"#);
    start(&p).await;
    // Backoff ceilings 1 s, 2 s, 2 s…, each jittered to [½, 1]×: in 4.5 s between 2 and 8 more.
    sleep(4500).await;
    let probes = stats().await.n("leader.probes") - 1.0;
    web_sys::console::log_1(&format!("re-probes in 4.5 s while down (cap 2 s): {probes}").into());
    assert!((2.0..=8.0).contains(&probes), "{probes} re-probes");
    p.stop();
}

#[wasm_bindgen_test]
async fn a_5xx_from_a_healthy_leader_is_returned_as_the_leaders_answer() {
    let (p, probes) = started_counting_probes("{}").await;
    // 503 is a failover status: a probe is made at once, finds the leader healthy, and
    // the caller gets the leader's own 503. Nothing goes to the follower.
    let r = fetch_ok(&p, "/api/status/503", GET).await;
    assert_eq!(r.status(), 503);
    assert!(r.url().starts_with(LEADER));
    assert_eq!(state(&p), "leader");
    let s = stats().await;
    assert_eq!(
        s.n("leader.probes"),
        probes + 1.0,
        "the failure triggered exactly one probe"
    );
    assert_eq!(s.n("follower.requests"), 0.0);
    // A 500 is not in failoverStatuses: the application's answer, no probe.
    let r = fetch_ok(&p, "/api/status/500", GET).await;
    assert_eq!(r.status(), 500);
    assert_eq!(stats().await.n("leader.probes"), probes + 1.0);
    p.stop();
}

#[wasm_bindgen_test]
async fn a_memoised_resolve_follows_the_verdict() {
    reset().await;
    let p = proxy("{}");
    start(&p).await;
    for _ in 0..3 {
        assert_eq!(
            p.resolve("/api/pages".into(), GET).unwrap(),
            format!("{LEADER}/api/pages")
        );
    }
    leader_mode("app-down").await;
    assert_eq!(text(&check(&p).await, "state"), "emergency");
    assert_eq!(
        p.resolve("/api/pages".into(), GET).unwrap(),
        format!("{FOLLOWER}/api/pages")
    );
    assert_eq!(
        code(&p.resolve("/api/hub/links".into(), GET).unwrap_err()),
        "FEATURE_UNAVAILABLE"
    );
    assert_eq!(
        code(&p.resolve("/api/hub/links".into(), GET).unwrap_err()),
        "FEATURE_UNAVAILABLE"
    );
    p.stop();
}

/// A lost request: the simulator holds the next `n` leader API requests unanswered
/// (a lossy line) while its health check stays up.
async fn lose(n: u32) {
    control(&format!("/lose/{n}")).await;
}

#[wasm_bindgen_test]
async fn a_read_whose_leader_attempt_was_lost_is_retried_on_the_leader_then_the_follower() {
    reset().await;
    let p = proxy("{}");
    start(&p).await;
    // The probe finds the leader healthy: the lost read is tried once more on the leader.
    lose(1).await;
    assert_eq!(served_by(&p, "/api/pages").await, "leader");
    let s = stats().await;
    assert_eq!(
        s.n("leader.byPath./api/pages"),
        2.0,
        "the read and its retry"
    );
    assert_eq!(s.n("follower.reads"), 0.0);
    p.stop();
    // Its retry lost too: a critical read goes to the follower (a fresh budget).
    let p = proxy("{}");
    start(&p).await;
    lose(2).await;
    assert_eq!(served_by(&p, "/api/pages").await, "follower");
    assert_eq!(stats().await.n("leader.byPath./api/pages"), 4.0);
    assert_eq!(state(&p), "leader", "a retry changes no state");
    p.stop();
}

#[wasm_bindgen_test]
async fn the_retry_budget_refuses_once_spent() {
    reset().await;
    let p = proxy("{}");
    start(&p).await;
    // Non-critical reads: the first lost one is retried (the budget's floor of one)…
    lose(1).await;
    assert_eq!(served_by(&p, "/api/hub/links").await, "leader");
    // …the second, 2 reads into the 10 s window (20 % of 2 < 1 retry), is not.
    lose(1).await;
    let e = fetch_err(&p, "/api/hub/links", GET).await;
    assert_eq!(code(&e), "LEADER_UNAVAILABLE");
    assert!(message(&e).contains("budget"), "{}", message(&e));
    assert_eq!(stats().await.n("leader.byPath./api/hub/links"), 3.0);
    p.stop();
}

#[wasm_bindgen_test]
async fn flap_damping_holds_the_state_off_the_leader() {
    reset().await;
    control("/leader/flapping?ms=600").await;
    // No hysteresis: one good probe would bring the page back; only damping holds it.
    let p = proxy(r#"{"hysteresis":{"successesToUp":1,"halfLifeMs":20000}}"#);
    start(&p).await;
    let (seen, _) = record_states(&p);
    for _ in 0..24 {
        sleep(150).await;
        check(&p).await;
    }
    // The leader settles; the penalty (two departures ≈ 1950) holds the page for ≈ 27 s.
    leader_mode("up").await;
    for _ in 0..5 {
        sleep(150).await;
        assert_eq!(text(&check(&p).await, "state"), "emergency");
    }
    let seen = seen.borrow().clone();
    web_sys::console::log_1(&format!("flapping 3.6 s with damping: {seen:?}").into());
    assert_eq!(seen, ["emergency", "leader", "emergency"], "{seen:?}");
    p.stop();
}

#[wasm_bindgen_test]
async fn reads_waiting_on_the_leader_settle_when_the_state_leaves_it() {
    reset().await;
    let p = proxy(r#"{"requestTimeoutMs":5000}"#);
    start(&p).await;
    lose(2).await;
    let critical = p.fetch("/api/pages".into(), None);
    let other = p.fetch("/api/hub/links".into(), None);
    // The critical read's confirmation probe finds the leader up: both keep waiting.
    sleep(700).await;
    assert_eq!(state(&p), "leader");
    leader_mode("blackout").await;
    let t0 = now();
    assert_eq!(text(&check(&p).await, "state"), "emergency");
    let settled = |r: Option<Result<JsValue, JsValue>>, what: &str| {
        r.unwrap_or_else(|| panic!("{what} still waits on the leader the verdict left"))
    };
    let r: web_sys::Response = settled(within(1000, critical).await, "the critical read")
        .expect("the critical read is served")
        .into();
    assert!(r.url().starts_with(FOLLOWER), "{}", r.url());
    let e = settled(within(200, other).await, "the non-critical read").unwrap_err();
    assert_eq!(code(&e), "FEATURE_UNAVAILABLE");
    web_sys::console::log_1(
        &format!(
            "in-flight reads settled {} ms after the probe began",
            now() - t0
        )
        .into(),
    );
    p.stop();
}

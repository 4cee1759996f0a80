//! Spec §8: racing a dark leader — cold start, confirmation, early escape.

use super::*;

/// After a reset, a started proxy (`raceAfterMs` 100, `requestTimeoutMs` 5000, the
/// given `health.timeoutMs`) that has had three good probes: the confirmation bound is
/// now the RTO of a fast loopback, clamped to `raceAfterMs`.
async fn started_with_a_measured_rtt(probe_timeout_ms: u32) -> health_proxy::HealthProxy {
    reset().await;
    let p = proxy(&format!(
        r#"{{"raceAfterMs":100,"requestTimeoutMs":5000,"health":{{"timeoutMs":{probe_timeout_ms}}}}}"#
    ));
    start(&p).await;
    for _ in 0..3 {
        check(&p).await;
    }
    p
}

#[wasm_bindgen_test]
async fn a_cold_start_into_a_blackout_serves_the_first_critical_read_after_race_after_ms() {
    reset().await;
    leader_mode("blackout").await;
    let p = proxy(r#"{"raceAfterMs":200,"health":{"timeoutMs":3000}}"#);
    let t0 = now();
    // No start(): the page asks for its first critical read straight away.
    assert_eq!(served_by(&p, "/api/pages").await, "follower");
    let took = now() - t0;
    web_sys::console::log_1(&format!("cold start into a blackout: first critical read in {took} ms (raceAfterMs 200, health.timeoutMs 3000)").into());
    assert!((200.0..1000.0).contains(&took), "{took} ms");
    sleep(100).await;
    let s = stats().await;
    // The losing leader request was aborted; only the probe (3 s timeout) still hangs.
    assert_eq!(s.n("leader.hangsOpen"), 1.0);
    assert!(js_sys::Array::from(&s.get("leader.hangsClosedMs")).length() >= 1);
    p.stop();
    sleep(100).await;
    assert_eq!(stats().await.n("leader.hangsOpen"), 0.0);
}

#[wasm_bindgen_test]
async fn a_cold_start_with_the_leader_up_sends_nothing_to_the_follower() {
    reset().await;
    let p = proxy(r#"{"raceAfterMs":200}"#);
    assert_eq!(served_by(&p, "/api/pages").await, "leader");
    assert_eq!(text(&start(&p).await, "state"), "leader");
    assert_eq!(stats().await.n("follower.requests"), 0.0);
    p.stop();
}

#[wasm_bindgen_test]
async fn a_leader_dark_mid_session_costs_race_after_plus_probe_timeout_not_the_request_timeout() {
    reset().await;
    let p = proxy(r#"{"raceAfterMs":200,"requestTimeoutMs":5000,"health":{"timeoutMs":500}}"#);
    assert_eq!(text(&start(&p).await, "state"), "leader");
    leader_mode("blackout").await;
    let t0 = now();
    assert_eq!(served_by(&p, "/api/pages/2").await, "follower");
    let took = now() - t0;
    web_sys::console::log_1(&format!("leader dark mid-session: critical read in {took} ms (raceAfterMs 200 + timeoutMs 500; requestTimeoutMs 5000)").into());
    assert!(took < 200.0 + 500.0 + 400.0, "{took} ms");
    // Spec §8: the probe the slow read triggers asks the leader only.
    assert_eq!(stats().await.n("follower.probes"), 0.0);
    let snap = p.snapshot();
    assert_eq!(text(&snap, "state"), "emergency");
    assert_eq!(text(&snap, "source"), "request");
    p.stop();
}

#[wasm_bindgen_test]
async fn a_slow_but_healthy_leader_is_waited_for_and_the_follower_sees_nothing() {
    let (p, probes) = started_counting_probes(r#"{"raceAfterMs":200}"#).await;
    let t0 = now();
    assert_eq!(served_by(&p, "/api/slow?ms=700").await, "leader");
    let took = now() - t0;
    assert!(took >= 700.0, "{took} ms");
    let s = stats().await;
    assert_eq!(
        s.n("leader.probes"),
        probes + 1.0,
        "the silent read triggered one leader probe"
    );
    assert_eq!(
        s.n("follower.requests"),
        0.0,
        "nothing may reach the follower while the state is leader"
    );
    assert_eq!(state(&p), "leader");
    p.stop();
}

#[wasm_bindgen_test]
async fn writes_and_non_critical_reads_are_never_raced() {
    reset().await;
    leader_mode("blackout").await;
    let p = proxy(r#"{"raceAfterMs":50}"#);
    let e = fetch_err(&p, "/api/notes", post(r#"{"text":"x","clientId":"race"}"#)).await;
    assert_eq!(code(&e), "LEADER_UNAVAILABLE");
    let e = fetch_err(&p, "/api/hub/links", GET).await;
    assert_eq!(code(&e), "FEATURE_UNAVAILABLE");
    let s = stats().await;
    assert_eq!(
        s.n("follower.writes") + s.n("follower.preflightWriteMethods"),
        0.0
    );
    assert_eq!(s.n("follower.reads"), 0.0);
    assert_eq!(
        s.n("leader.writes"),
        0.0,
        "the write waited for the verdict and was refused unsent"
    );
    p.stop();
}

#[wasm_bindgen_test]
async fn a_cold_start_read_stays_off_the_follower_once_the_probe_says_leader() {
    reset().await;
    let p = proxy(r#"{"raceAfterMs":200}"#);
    // start() not awaited: the probe makes the state `leader` long before the slow read
    // answers; when raceAfterMs passes, the read must not also go to the follower.
    let started = JsFuture::from(p.start());
    assert_eq!(served_by(&p, "/api/slow?ms=700").await, "leader");
    assert_eq!(text(&started.await.unwrap(), "state"), "leader");
    let s = stats().await;
    assert_eq!(s.n("follower.requests"), 0.0);
    assert_eq!(s.n("follower.probes"), 0.0);
    p.stop();
}

#[wasm_bindgen_test]
async fn a_fast_503_before_any_verdict_waits_for_the_probe_instead_of_the_follower() {
    reset().await;
    let p = proxy(r#"{"routes":[{"prefix":"/api/status","critical":true}]}"#);
    let r = fetch_ok(&p, "/api/status/503", GET).await;
    assert_eq!(r.status(), 503, "the healthy leader's own answer");
    assert!(r.url().starts_with(LEADER));
    assert_eq!(state(&p), "leader");
    assert_eq!(stats().await.n("follower.requests"), 0.0);
    p.stop();
}

#[wasm_bindgen_test]
async fn a_leader_dark_mid_session_escapes_after_the_confirmation_bound() {
    let p = started_with_a_measured_rtt(1500).await;
    leader_mode("blackout").await;
    let probes = stats().await.n("leader.probes");
    let t0 = now();
    assert_eq!(served_by(&p, "/api/pages/3").await, "follower");
    let took = now() - t0;
    // The read escaped once its confirmation probe had been sent (and left unanswered).
    assert_eq!(
        stats().await.n("leader.probes"),
        probes + 1.0,
        "one confirmation probe"
    );
    web_sys::console::log_1(
        &format!("leader dark mid-session, 4 good probes behind: critical read in {took} ms (raceAfterMs 100, health.timeoutMs 1500)").into(),
    );
    assert!(took < 100.0 + 100.0 + 250.0, "{took} ms");
    // The escape moved nothing: only the probe's own outcome does.
    assert_eq!(state(&p), "leader");
    sleep(1600).await;
    assert_eq!(state(&p), "emergency");
    assert_eq!(stats().await.n("follower.probes"), 0.0);
    p.stop();
}

#[wasm_bindgen_test]
async fn a_slow_read_whose_probe_answers_in_time_never_reaches_the_follower() {
    reset().await;
    let p = proxy(r#"{"raceAfterMs":100,"requestTimeoutMs":5000,"health":{"timeoutMs":1500}}"#);
    start(&p).await;
    for _ in 0..3 {
        check(&p).await;
    }
    // The read is slow, but the confirmation probe answers at once: no escape.
    assert_eq!(served_by(&p, "/api/slow?ms=900").await, "leader");
    assert_eq!(stats().await.n("follower.requests"), 0.0);
    p.stop();
}

#[wasm_bindgen_test]
async fn reads_sent_into_one_stall_escape_once_per_confirmation_probe() {
    let p = started_with_a_measured_rtt(2000).await;
    // A healthy leader that stalls for 900 ms: every request and probe waits it out.
    leader_mode("slow?ms=900").await;
    let reads: Vec<JsFuture> = (0..4)
        .map(|i| JsFuture::from(p.fetch(format!("/api/pages/{}", i % 3 + 1).into(), GET)))
        .collect();
    let mut by = Vec::new();
    for r in reads {
        let r: web_sys::Response = r.await.unwrap().into();
        by.push(text(&json(r).await, "servedBy"));
    }
    let s = stats().await;
    assert_eq!(
        s.n("follower.requests"),
        1.0,
        "one escape for the stall, not one per read: {by:?}"
    );
    assert_eq!(by.iter().filter(|b| *b == "follower").count(), 1, "{by:?}");
    assert_eq!(
        state(&p),
        "leader",
        "the slow probe still answered: no state change"
    );
    p.stop();
}

#[wasm_bindgen_test]
async fn a_reload_into_a_blackout_escapes_at_the_confirmation_bound() {
    reset().await;
    let key = format!("hp-reload-{}", now());
    let cfg = format!(
        r#"{{"raceAfterMs":100,"requestTimeoutMs":5000,"health":{{"timeoutMs":2000}},"cache":{{"storage":"local","key":"{key}"}}}}"#
    );
    let before = proxy(&cfg);
    start(&before).await;
    for _ in 0..3 {
        check(&before).await;
    }
    before.stop();
    leader_mode("blackout").await;
    // The reload: a new instance, a cached `leader` verdict that lends its RTT.
    let after = proxy(&cfg);
    assert_eq!(text(&start(&after).await, "source"), "cache");
    let t0 = now();
    assert_eq!(served_by(&after, "/api/pages").await, "follower");
    let took = now() - t0;
    web_sys::console::log_1(
        &format!("first critical read after a reload into a blackout: {took} ms").into(),
    );
    // raceAfterMs + the bound of a loopback RTT (raceAfterMs) + the follower; without the
    // RTT it would be raceAfterMs + health.timeoutMs (2.1 s).
    assert!(took < 1000.0, "{took} ms");
    after.stop();
    forget(&key);
}

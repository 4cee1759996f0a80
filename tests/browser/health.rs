//! Spec §3 and §7: what counts as healthy, and each failure mode the harness makes.

use super::*;

/// The leader is down in some way, the follower is up: emergency, and the §2 table.
async fn emergency_routing(mode: &str) {
    reset().await;
    leader_mode(mode).await;
    let p = proxy("{}");
    let snap = start(&p).await;
    assert_eq!(text(&snap, "state"), "emergency", "leader {mode}");
    assert_eq!(
        p.resolve("/api/pages/2".into(), GET).unwrap(),
        format!("{FOLLOWER}/api/pages/2")
    );
    assert!(p.can_serve("/api/files".into(), Some("HEAD".into())));
    assert!(!p.can_serve("/api/hub/links".into(), GET));
    assert!(!p.can_serve("/api/pages".into(), Some("DELETE".into())));
    assert_eq!(served_by(&p, "/api/pages").await, "follower");
    let before = stats().await;
    let e = fetch_err(&p, "/api/hub/links", GET).await;
    assert_eq!(code(&e), "FEATURE_UNAVAILABLE");
    for method in ["POST", "PUT", "PATCH", "DELETE"] {
        let e = fetch_err(
            &p,
            "/api/notes",
            init(&format!(r#"{{"method":"{method}","body":"{{}}"}}"#)),
        )
        .await;
        assert_eq!(code(&e), "LEADER_UNAVAILABLE", "{method}");
        let e = fetch_err(
            &p,
            "/api/pages",
            init(&format!(r#"{{"method":"{method}"}}"#)),
        )
        .await;
        assert_eq!(
            code(&e),
            "LEADER_UNAVAILABLE",
            "{method} on a critical path"
        );
    }
    let after = stats().await;
    // Refused before anything was sent: no request of any kind reached either server.
    assert_eq!(after.n("follower.writes"), 0.0);
    assert_eq!(
        after.n("follower.preflights"),
        before.n("follower.preflights")
    );
    assert_eq!(after.n("follower.requests"), before.n("follower.requests"));
    assert_eq!(after.n("leader.writes"), 0.0);
    p.stop();
}

#[wasm_bindgen_test]
async fn app_down_502_gives_emergency() {
    emergency_routing("app-down").await;
}

#[wasm_bindgen_test]
async fn refused_gives_emergency() {
    emergency_routing("refused").await;
}

#[wasm_bindgen_test]
async fn blackout_gives_emergency() {
    emergency_routing("blackout").await;
}

#[wasm_bindgen_test]
async fn slow_leader_gives_emergency() {
    emergency_routing("slow").await;
}

#[wasm_bindgen_test]
async fn captive_portal_body_gives_emergency() {
    emergency_routing("wrong-body").await;
}

#[wasm_bindgen_test]
async fn without_expect_any_2xx_counts_as_healthy() {
    reset().await;
    leader_mode("wrong-body").await;
    let p = proxy(r#"{"health":{"expect":null}}"#);
    assert_eq!(text(&start(&p).await, "state"), "leader");
    p.stop();
}

#[wasm_bindgen_test]
async fn blackholed_probe_is_really_aborted_on_time() {
    reset().await;
    leader_mode("blackout").await;
    let p = proxy(r#"{"health":{"timeoutMs":500}}"#);
    let t0 = now();
    let snap = start(&p).await;
    let elapsed = now() - t0;
    assert_eq!(text(&snap, "state"), "emergency");
    // start() resolves within health.timeoutMs + the follower probe.
    assert!(
        (500.0..1500.0).contains(&elapsed),
        "start took {elapsed} ms"
    );
    // The hung request is gone at the server, not just abandoned by the promise.
    sleep(100).await;
    let s = stats().await;
    assert_eq!(
        s.n("leader.hangsOpen"),
        0.0,
        "the blackholed probe is still open at the leader"
    );
    let closed = s.get("leader.hangsClosedMs");
    let closed: js_sys::Array = closed.into();
    assert_eq!(closed.length(), 1);
    let held = closed.get(0).as_f64().unwrap();
    web_sys::console::log_1(&format!("blackholed probe: aborted after {held} ms at the server (timeout 500 ms); start() resolved in {elapsed} ms").into());
    assert!(
        (450.0..900.0).contains(&held),
        "the server held the probe {held} ms"
    );
    p.stop();
}

/// Spec §3: the deadline covers the health body's read, in every engine (WebKitGTK may
/// never settle a read of an aborted fetch's body).
#[wasm_bindgen_test]
async fn a_health_body_that_stalls_fails_the_probe_at_its_deadline() {
    reset().await;
    // The simulator's health check sends its head and part of the body, then stalls; and
    // a fetch that ignores the abort (a read of its body never settles, as WebKitGTK's
    // sometimes does not), which fails without the bound in every engine.
    let deaf = r#"() => Promise.resolve(new Response(new ReadableStream({ start(c) { c.enqueue(new TextEncoder().encode('{"status":')); } }), { status: 200 }))"#;
    for case in ["health-stall", "deaf"] {
        let p = proxy(r#"{"health":{"timeoutMs":400},"hysteresis":{"successesToUp":1}}"#);
        assert_eq!(text(&start(&p).await, "state"), "leader");
        let odd = if case == "deaf" {
            Some(OddFetch::install(deaf, &format!("{LEADER}/health")))
        } else {
            leader_mode(case).await;
            None
        };
        let t0 = now();
        let stalled = within(3000, p.check_now()).await;
        let took = now() - t0;
        drop(odd);
        leader_mode("up").await;
        match stalled {
            Some(Ok(s)) => assert_eq!(text(&s, "state"), "emergency", "{case}"),
            other => panic!("{case}: the probe did not settle: {other:?}"),
        }
        // The leader's probe ends at 400 ms, then the follower's (fast) runs.
        assert!(
            (350.0..1500.0).contains(&took),
            "{case}: settled after {took} ms"
        );
        match within(3000, p.check_now()).await {
            Some(Ok(s)) => assert_eq!(text(&s, "state"), "leader", "{case}"),
            other => panic!("{case}: the next probe did not settle: {other:?}"),
        }
        p.stop();
    }
}

#[wasm_bindgen_test]
async fn an_object_expect_matches_the_health_fields_whatever_the_whitespace() {
    reset().await;
    let p = proxy(r#"{"health":{"expect":{"status":"ok"}}}"#);
    assert_eq!(text(&start(&p).await, "state"), "leader");
    p.stop();
    // A field the body does not have with that value: the leader is not healthy.
    let p = proxy(r#"{"health":{"expect":{"status":"degraded"}}}"#);
    assert_eq!(text(&start(&p).await, "state"), "emergency");
    p.stop();
    // The captive portal's HTML is not JSON at all.
    leader_mode("wrong-body").await;
    let p = proxy(r#"{"health":{"expect":{"status":"ok"}}}"#);
    assert_eq!(text(&start(&p).await, "state"), "emergency");
    p.stop();
}

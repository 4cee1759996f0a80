//! What the proxy sends, in every engine (spec §4 "Redirects", "Credentials to the
//! follower"), and issue 33's console warning for writes the leader's CORS refuses. Each
//! test fails with its rule taken out (shown in Chromium; see the commit that says so).
#![cfg(target_arch = "wasm32")]

mod support;

use support::*;
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const ROUTES: &str = r#""routes": [
    {"prefix": "/api/redirect", "critical": true},
    {"prefix": "/api/echo", "critical": true}
  ]"#;

/// How many requests for `path` reached `side` (the simulator counts them on arrival).
fn arrived(s: &Stats, side: &str, path: &str) -> f64 {
    let by_path = s.get(&format!("{side}.byPath"));
    js_sys::Reflect::get(&by_path, &path.into())
        .unwrap()
        .as_f64()
        .unwrap_or(0.0)
}

/// A leader that answers a read with a 302 to another origin: nothing reaches that
/// origin (the redirect is not followed), and the read fails over to the follower as a
/// failure of the leader (spec §4).
#[wasm_bindgen_test]
async fn a_read_redirected_elsewhere_fails_over_and_nothing_reaches_the_other_origin() {
    reset().await;
    let p = proxy(&format!("{{{ROUTES}}}"));
    assert_eq!(text(&start(&p).await, "state"), "leader");
    let path = format!("/api/redirect/302?to={FOLLOWER}/api/landed");
    let r = fetch_ok(&p, &path, init(r#"{"redirect":"follow"}"#)).await;
    assert!(r.url().starts_with(FOLLOWER), "served from {}", r.url());
    assert_eq!(r.status(), 200);
    let body = json(r).await;
    assert_eq!(text(&body, "path"), path);
    let s = stats().await;
    assert_eq!(
        arrived(&s, "follower", "/api/landed"),
        0.0,
        "the redirect was followed"
    );
    assert!(arrived(&s, "leader", "/api/redirect/302") >= 1.0);
    p.stop();
}

/// A write answered with a 307: its body never reaches the other origin, and the write
/// resolves with the response fetch gives for a redirect it did not follow.
#[wasm_bindgen_test]
async fn a_write_answered_with_307_resolves_with_the_opaque_redirect() {
    reset().await;
    let p = proxy(&format!("{{{ROUTES}}}"));
    assert_eq!(text(&start(&p).await, "state"), "leader");
    let path = format!("/api/redirect/307?to={FOLLOWER}/api/echo");
    let r = fetch_ok(
        &p,
        &path,
        init(r#"{"method":"POST","body":"a note","redirect":"follow"}"#),
    )
    .await;
    assert_eq!(text(&r, "type"), "opaqueredirect");
    assert!(!r.ok());
    let s = stats().await;
    assert_eq!(
        arrived(&s, "follower", "/api/echo"),
        0.0,
        "the body was re-sent"
    );
    assert_eq!(s.n("follower.writes"), 0.0);
    assert_eq!(arrived(&s, "leader", "/api/redirect/307"), 1.0);
    assert_eq!(state(&p), "leader");
    p.stop();
}

/// The echoed request headers of `proxy.fetch(path)` with the caller's credentials.
async fn echoed(p: &health_proxy::HealthProxy) -> (String, JsValue) {
    let caller = r#"{"credentials":"include","headers":{"Authorization":"Bearer secret"}}"#;
    let r = fetch_ok(p, "/api/echo", init(caller)).await;
    let by = if r.url().starts_with(FOLLOWER) {
        "follower"
    } else {
        "leader"
    };
    (by.into(), field(&json(r).await, "headers"))
}

/// The caller's `Authorization` and cookies reach the leader, and the follower only with
/// `followerCredentials: true` (spec §4).
#[wasm_bindgen_test]
async fn credentials_reach_the_follower_only_when_configured() {
    // The page and both sides are on 127.0.0.1: one site, so the cookie goes to each port.
    js("document.cookie = 'hp_session=s3cret; path=/'");
    for (option, to_follower) in [("", false), (r#", "followerCredentials": true"#, true)] {
        reset().await;
        let p = proxy(&format!("{{{ROUTES}{option}}}"));
        assert_eq!(text(&start(&p).await, "state"), "leader");
        let (by, headers) = echoed(&p).await;
        assert_eq!(by, "leader");
        assert_eq!(text(&headers, "authorization"), "Bearer secret");
        assert!(text(&headers, "cookie").contains("hp_session=s3cret"));

        leader_mode("app-down").await;
        assert_eq!(text(&check(&p).await, "state"), "emergency");
        let (by, headers) = echoed(&p).await;
        assert_eq!(by, "follower");
        for name in ["authorization", "cookie"] {
            assert_eq!(
                !field(&headers, name).is_undefined(),
                to_follower,
                "{name} at the follower{option}: {:?}",
                field(&headers, name)
            );
        }
        p.stop();
    }
    js("document.cookie = 'hp_session=; path=/; max-age=0'");
}

/// console.warn, recorded from now until `restore`.
struct Warnings(js_sys::Array);

impl Warnings {
    fn watch() -> Warnings {
        Warnings(
            js("(() => { const seen = []; const real = console.warn; globalThis.__hpRealWarn = real; console.warn = (...a) => { seen.push(a.map(String).join(' ')); real.apply(console, a); }; return seen; })()")
                .unchecked_into(),
        )
    }
    fn all(&self) -> Vec<String> {
        self.0.iter().filter_map(|w| w.as_string()).collect()
    }
    fn ours(&self) -> Vec<String> {
        let mut ours = self.all();
        ours.retain(|w| w.starts_with("health-proxy"));
        ours
    }
}

impl Drop for Warnings {
    fn drop(&mut self) {
        js("(() => { console.warn = globalThis.__hpRealWarn; })()");
    }
}

/// `n` JSON writes; returns their error codes ("" for an answer).
async fn writes(p: &health_proxy::HealthProxy, n: usize) -> Vec<String> {
    let mut codes = Vec::new();
    for _ in 0..n {
        let w = init(
            r#"{"method":"POST","headers":{"Content-Type":"application/json"},"body":"{\"text\":\"hi\"}"}"#,
        );
        codes.push(
            match wasm_bindgen_futures::JsFuture::from(p.fetch("/api/echo".into(), Some(w))).await {
                Ok(_) => String::new(),
                Err(e) => code(&e),
            },
        );
    }
    codes
}

/// Issue 33: writes that keep failing with a network error while the leader's probes
/// succeed get one console warning per page naming the header the leader's CORS must
/// allow; none while the option is off or the leader allows it. One test, in order: the
/// warning is once per page.
#[wasm_bindgen_test]
async fn writes_the_leaders_cors_refuses_are_explained_once() {
    let warnings = Warnings::watch();
    let key = r#", "writes": {"idempotencyKey": "Idempotency-Key"}"#;
    for (option, allow) in [("", "content-type"), (key, "any")] {
        reset().await;
        control(&format!("/allow-headers/{allow}")).await;
        let p = proxy(&format!("{{{ROUTES}{option}}}"));
        assert_eq!(text(&start(&p).await, "state"), "leader");
        assert_eq!(writes(&p, 3).await, ["", "", ""], "allow {allow}{option}");
        assert!(warnings.ours().is_empty(), "{:?}", warnings.all());
        p.stop();
    }
    // The option on, the leader's preflight allowing Content-Type only.
    reset().await;
    control("/allow-headers/content-type").await;
    let p = proxy(&format!("{{{ROUTES}{key}}}"));
    assert_eq!(text(&start(&p).await, "state"), "leader");
    assert_eq!(writes(&p, 1).await, ["OUTCOME_UNKNOWN"]);
    assert!(warnings.ours().is_empty(), "warned after one write");
    assert_eq!(writes(&p, 3).await, ["OUTCOME_UNKNOWN"; 3]);
    assert_eq!(state(&p), "leader", "the warning changes no state");
    let ours = warnings.ours();
    assert_eq!(ours.len(), 1, "{ours:?}");
    let w = ours[0].to_ascii_lowercase();
    assert!(w.contains("idempotency-key"), "{w}");
    assert!(w.contains("access-control-allow-headers"), "{w}");
    assert!(w.contains("post"), "{w}");
    // Once per page: another proxy meeting the same refuses says nothing more.
    let q = proxy(&format!("{{{ROUTES}{key}}}"));
    assert_eq!(text(&start(&q).await, "state"), "leader");
    assert_eq!(writes(&q, 2).await, ["OUTCOME_UNKNOWN"; 2]);
    assert_eq!(warnings.ours().len(), 1);
    // No request of its own: each write is one preflight, and a probe that judged it.
    let s = stats().await;
    assert_eq!(s.n("leader.writes"), 0.0);
    p.stop();
    q.stop();
    reset().await;
}

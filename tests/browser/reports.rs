//! Spec §11: one report per outage episode, sent to the leader when it is back, by the
//! tab that probes; never to the follower; kept through a reload until the leader takes
//! it; sampled. The simulator's leader stores what it takes (`/reports` of the control
//! API) and each side counts the reports that reach it.

use super::*;
use js_sys::JSON;

/// The outage reports the leader took, oldest first.
async fn taken() -> Vec<JsValue> {
    js_sys::Array::from(&control("/reports").await).to_vec()
}

/// Polls until the leader has taken `n` reports, for at most `ms`; then what it holds.
async fn wait_taken(n: usize, ms: f64) -> Vec<JsValue> {
    let until = now() + ms;
    loop {
        let got = taken().await;
        if got.len() >= n || now() > until {
            return got;
        }
        sleep(50).await;
    }
}

/// A cache key of its own, and the keys its episode and reports are kept under.
struct Keys(String);

impl Keys {
    fn new(what: &str) -> Keys {
        Keys(format!("hp-reports-{what}-{}", now() as u64))
    }

    /// The reports waiting in Web Storage.
    fn queued(&self) -> js_sys::Array {
        let text = local_storage()
            .get_item(&format!("{}:reports:{LEADER}", self.0))
            .unwrap();
        text.map_or_else(js_sys::Array::new, |t| JSON::parse(&t).unwrap().into())
    }

    fn live(&self) -> Option<String> {
        local_storage()
            .get_item(&format!("{}:episode:{LEADER}", self.0))
            .unwrap()
    }
}

impl Drop for Keys {
    fn drop(&mut self) {
        for key in [
            self.0.clone(),
            format!("{}:reports:{LEADER}", self.0),
            format!("{}:episode:{LEADER}", self.0),
        ] {
            local_storage().remove_item(&key).unwrap();
        }
    }
}

fn local_storage() -> web_sys::Storage {
    web_sys::window().unwrap().local_storage().unwrap().unwrap()
}

/// A proxy of one site (`keys`), its verdicts and reports in localStorage, that reports
/// outage episodes to the leader's `/reports`; `more` goes on inside `reports` (and may
/// close it to add more of the config). No flap damping: a test's second outage follows
/// its first within seconds, which damping would hold on the follower (spec §2).
fn reporting(keys: &Keys, more: &str) -> health_proxy::HealthProxy {
    proxy(&format!(
        r#"{{"cache":{{"storage":"local","key":"{}"}},"hysteresis":{{"halfLifeMs":0}},"reports":{{"path":"/reports"{more}}}}}"#,
        keys.0
    ))
}

/// An outage episode as `p` sees it: the leader dark until `p`'s probe finds it, a
/// critical read the follower serves, then the leader back until `p` finds it (two good
/// probes: `hysteresis.successesToUp`).
async fn episode(p: &health_proxy::HealthProxy) {
    leader_mode("blackout").await;
    assert_eq!(text(&check(p).await, "state"), "emergency");
    assert_eq!(served_by(p, "/api/pages").await, "follower");
    leader_mode("up").await;
    assert_eq!(text(&check(p).await, "state"), "emergency");
    assert_eq!(text(&check(p).await, "state"), "leader");
}

fn number(v: &JsValue, dotted: &str) -> f64 {
    let mut v = v.clone();
    for key in dotted.split('.') {
        v = field(&v, key);
    }
    v.as_f64()
        .unwrap_or_else(|| panic!("{dotted} is not a number: {v:?}"))
}

#[wasm_bindgen_test]
async fn a_report_after_an_episode_reaches_the_leader_once_with_what_the_page_saw() {
    reset().await;
    // The page and both sides are on 127.0.0.1: one site, so a credentialed request to
    // the leader would carry this cookie.
    js("document.cookie = 'hp_session=s3cret; path=/'");
    let keys = Keys::new("after");
    let p = reporting(&keys, r#"},"writes":{"idempotencyKey":"Idempotency-Key""#);
    assert_eq!(text(&start(&p).await, "state"), "leader");
    let began = now();
    episode(&p).await;
    let got = wait_taken(1, 3000.0).await;
    let ended = now();
    assert_eq!(got.len(), 1, "reports taken: {got:?}");
    let r = &got[0];
    let id = text(r, "id");
    assert!(
        id.len() == 36 && id.as_bytes()[14] == b'4',
        "not a UUID v4: {id}"
    );
    let started = number(r, "startedAt");
    assert!(
        (began..=ended).contains(&started),
        "startedAt {started} outside the test's {began}..{ended}"
    );
    let duration = number(r, "durationMs");
    assert!(
        duration > 0.0 && started + duration <= ended,
        "durationMs {duration}"
    );
    // The blackout: probes time out; the follower answered one read, and was probed.
    assert!(number(r, "probes.timeout") >= 1.0, "{r:?}");
    assert_eq!(number(r, "probes.network"), 0.0);
    assert_eq!(number(r, "probes.body"), 0.0);
    assert_eq!(
        js_sys::Array::from(&field(&field(r, "probes"), "status")).length(),
        0
    );
    assert_eq!(number(r, "followerReads"), 1.0);
    assert!(number(r, "followerRequests") >= 2.0, "{r:?}");
    assert_eq!(number(r, "leaderUnavailable"), 0.0);
    assert_eq!(number(r, "outcomeUnknown"), 0.0);
    assert!(number(r, "rttMs") >= 0.0, "the start-up probe's round trip");
    assert_eq!(text(r, "version"), "0.1.0");
    assert_eq!(number(r, "sampleRate"), 1.0);
    let s = stats().await;
    assert_eq!(s.n("leader.reports"), 1.0, "one POST");
    assert_eq!(s.n("leader.reportCookies"), 0.0, "credentials: omit");
    assert_eq!(s.n("follower.reports"), 0.0);
    // Its id was the write's idempotency key.
    let keys_sent = js_sys::Array::from(&s.get("leader.writeKeys"));
    assert_eq!(keys_sent.to_vec(), vec![JsValue::from_str(&id)]);
    // Nothing left behind: the queue is empty, the episode closed.
    assert_eq!(keys.queued().length(), 0);
    assert_eq!(keys.live().as_deref(), Some("null"));
    // Another round at the leader sends nothing more.
    check(&p).await;
    sleep(300).await;
    assert_eq!(stats().await.n("leader.reports"), 1.0);
    p.stop();
    js("document.cookie = 'hp_session=; path=/; max-age=0'");
}

/// Spec §11: an `offline` client is not an episode (the visitor's own network).
#[wasm_bindgen_test]
async fn no_report_after_a_client_that_went_offline() {
    reset().await;
    let keys = Keys::new("offline");
    let p = reporting(&keys, "");
    assert_eq!(text(&start(&p).await, "state"), "leader");
    leader_mode("blackout").await;
    follower_mode("down").await;
    assert_eq!(text(&check(&p).await, "state"), "offline");
    assert_eq!(text(&check(&p).await, "state"), "offline");
    leader_mode("up").await;
    follower_mode("up").await;
    assert_eq!(text(&check(&p).await, "state"), "leader");
    sleep(500).await;
    assert_eq!(taken().await.len(), 0);
    let s = stats().await;
    assert_eq!(s.n("leader.reports") + s.n("follower.reports"), 0.0);
    p.stop();
}

/// A report waits for the leader: while the leader is down, a pending one is not sent
/// anywhere, the follower least of all, and the leader takes both once it is back.
#[wasm_bindgen_test]
async fn no_report_goes_to_the_follower() {
    reset().await;
    let keys = Keys::new("follower");
    control("/reports-fail/1").await;
    let p = reporting(&keys, "");
    start(&p).await;
    episode(&p).await;
    // The leader's endpoint failed it: it waits.
    let until = now() + 3000.0;
    while stats().await.n("leader.reports") < 1.0 && now() < until {
        sleep(50).await;
    }
    assert_eq!(stats().await.n("follower.reports"), 0.0);
    assert_eq!(taken().await.len(), 0);
    assert_eq!(keys.queued().length(), 1);
    // A second episode, with the first report pending all through it.
    leader_mode("blackout").await;
    assert_eq!(text(&check(&p).await, "state"), "emergency");
    for _ in 0..3 {
        assert_eq!(served_by(&p, "/api/pages").await, "follower");
    }
    assert_eq!(
        code(&fetch_err(&p, "/api/notes", post(r#"{"text":"x"}"#)).await),
        "LEADER_UNAVAILABLE"
    );
    assert_eq!(stats().await.n("follower.reports"), 0.0);
    leader_mode("up").await;
    check(&p).await;
    assert_eq!(text(&check(&p).await, "state"), "leader");
    let got = wait_taken(2, 3000.0).await;
    assert_eq!(got.len(), 2, "{got:?}");
    // The second counted the write refused while the leader was down.
    assert_eq!(number(&got[1], "leaderUnavailable"), 1.0);
    assert_eq!(number(&got[1], "followerReads"), 3.0);
    let s = stats().await;
    assert_eq!(s.n("follower.reports"), 0.0);
    assert_eq!(s.n("follower.writes"), 0.0);
    p.stop();
}

#[wasm_bindgen_test]
async fn a_report_kept_through_a_reload_is_sent_by_the_next_page_load() {
    reset().await;
    let keys = Keys::new("reload");
    control("/reports-fail/1").await;
    let first = reporting(&keys, "");
    start(&first).await;
    episode(&first).await;
    let until = now() + 3000.0;
    while stats().await.n("leader.reports") < 1.0 && now() < until {
        sleep(50).await;
    }
    assert_eq!(taken().await.len(), 0, "the leader's endpoint failed it");
    // The page goes away with its report in the queue.
    first.stop();
    drop(first);
    let queued = keys.queued();
    assert_eq!(queued.length(), 1);
    let id = text(&queued.get(0), "id");
    // The next page load finds the leader up and sends it.
    let next = reporting(&keys, "");
    assert_eq!(text(&start(&next).await, "state"), "leader");
    let got = wait_taken(1, 5000.0).await;
    assert_eq!(got.len(), 1, "the next page load did not send it");
    assert_eq!(text(&got[0], "id"), id);
    assert_eq!(keys.queued().length(), 0);
    next.stop();
}

/// At most `reports.maxPending` wait: the oldest is dropped.
#[wasm_bindgen_test]
async fn the_oldest_report_is_dropped_beyond_max_pending() {
    reset().await;
    let keys = Keys::new("max");
    control("/reports-fail/2").await;
    let p = reporting(&keys, r#","maxPending":1"#);
    start(&p).await;
    episode(&p).await;
    sleep(300).await;
    let older = text(&keys.queued().get(0), "id");
    episode(&p).await;
    let until = now() + 3000.0;
    while stats().await.n("leader.reports") < 2.0 && now() < until {
        sleep(50).await;
    }
    let queued = keys.queued();
    assert_eq!(queued.length(), 1);
    let newer = text(&queued.get(0), "id");
    assert_ne!(newer, older);
    // The next round at the leader sends what waits (the failed send may still be
    // settling when the first one comes: a send in flight is not started twice).
    let mut got = Vec::new();
    for _ in 0..3 {
        check(&p).await;
        got = wait_taken(1, 1000.0).await;
        if !got.is_empty() {
            break;
        }
    }
    assert_eq!(got.len(), 1);
    assert_eq!(text(&got[0], "id"), newer);
    p.stop();
}

/// Five tabs of one site (one cache key: one storage, one channel) count into one
/// episode, and one report reaches the leader, whichever of them probe.
#[wasm_bindgen_test]
async fn five_tabs_send_one_report() {
    reset().await;
    let keys = Keys::new("tabs");
    let tabs: Vec<_> = (0..5).map(|_| reporting(&keys, "")).collect();
    for tab in &tabs {
        assert_eq!(text(&start(tab).await, "state"), "leader");
    }
    leader_mode("blackout").await;
    assert_eq!(text(&check(&tabs[0]).await, "state"), "emergency");
    // The others take the verdict the first one told them.
    let until = now() + 2000.0;
    while tabs.iter().any(|t| state(t) != "emergency") && now() < until {
        sleep(50).await;
    }
    for tab in &tabs {
        assert_eq!(state(tab), "emergency");
        assert_eq!(served_by(tab, "/api/pages").await, "follower");
    }
    leader_mode("up").await;
    check(&tabs[0]).await;
    assert_eq!(text(&check(&tabs[0]).await, "state"), "leader");
    // Every tab probes the leader back for itself too.
    for tab in &tabs[1..] {
        assert_eq!(text(&check(tab).await, "state"), "leader");
    }
    let got = wait_taken(1, 3000.0).await;
    sleep(500).await;
    assert_eq!(
        stats().await.n("leader.reports"),
        1.0,
        "{:?}",
        taken().await
    );
    assert_eq!(number(&got[0], "followerReads"), 5.0, "every tab's read");
    for tab in &tabs {
        tab.stop();
    }
}

#[wasm_bindgen_test]
async fn a_sample_rate_of_0_sends_no_report() {
    reset().await;
    let keys = Keys::new("sampled");
    let p = reporting(&keys, r#","sampleRate":0"#);
    start(&p).await;
    episode(&p).await;
    sleep(500).await;
    assert_eq!(stats().await.n("leader.reports"), 0.0);
    assert_eq!(keys.queued().length(), 0);
    assert_eq!(
        keys.live().as_deref(),
        Some("null"),
        "the episode ended all the same"
    );
    p.stop();
}

#[wasm_bindgen_test]
fn hostile_report_settings_are_invalid_config_naming_the_field() {
    for (reports, field) in [
        (r#"{"path":"reports"}"#, "reports.path"),
        (r#"{"path":"//evil.example/r"}"#, "reports.path"),
        (r#"{"path":"/a/../b"}"#, "reports.path"),
        (r#"{"path":5}"#, "reports.path"),
        (r#"{"path":"/r","sampleRate":1.5}"#, "reports.sampleRate"),
        (r#"{"path":"/r","sampleRate":-0.1}"#, "reports.sampleRate"),
        (r#"{"path":"/r","sampleRate":"1"}"#, "reports.sampleRate"),
        (r#"{"path":"/r","maxPending":101}"#, "reports.maxPending"),
        (r#"{"path":"/r","maxPending":1.5}"#, "reports.maxPending"),
        (r#"{"path":"/r","maxPending":-1}"#, "reports.maxPending"),
        (r#"{"path":"/r","every":1}"#, "reports.every"),
        (r#""/r""#, "reports"),
    ] {
        let overrides = format!(r#"{{"reports":{reports}}}"#);
        let e = health_proxy::HealthProxy::new(config(&overrides))
            .err()
            .unwrap_or_else(|| panic!("{overrides} was taken"));
        assert_eq!(code(&e), "INVALID_CONFIG");
        assert!(
            message(&e).starts_with(field),
            "{overrides}: {}",
            message(&e)
        );
    }
    // Numbers JSON cannot write.
    for bad in ["NaN", "Infinity"] {
        let c = config(r#"{"reports":{"path":"/r"}}"#);
        let reports = field(&c, "reports");
        js_sys::Reflect::set(&reports, &"sampleRate".into(), &js(bad)).unwrap();
        let e = health_proxy::HealthProxy::new(c).err().expect(bad);
        assert!(
            message(&e).starts_with("reports.sampleRate"),
            "{bad}: {}",
            message(&e)
        );
    }
    // And the good ones are taken: off, and on with each setting at its bounds.
    for reports in [
        r#"{"path":null}"#,
        r#"{"path":"/r","sampleRate":0,"maxPending":0}"#,
        r#"{"path":"/r","sampleRate":1,"maxPending":100}"#,
        r#"{"path":"/r","sampleRate":0.25}"#,
    ] {
        let overrides = format!(r#"{{"reports":{reports}}}"#);
        assert!(
            health_proxy::HealthProxy::new(config(&overrides)).is_ok(),
            "{overrides}"
        );
    }
}

//! Spec §6: the verdict cache.

use super::*;

#[wasm_bindgen_test]
async fn the_cache_makes_the_next_start_instant_then_revalidates() {
    reset().await;
    let key = format!("hp-test-{}", now());
    let cfg = format!(r#"{{"cache":{{"storage":"local","key":"{key}"}}}}"#);
    let first = proxy(&cfg);
    assert_eq!(text(&start(&first).await, "source"), "probe");
    first.stop();
    // The leader goes dark; a new page load still starts at once from the cache…
    leader_mode("blackout").await;
    let second = proxy(&cfg);
    let t0 = now();
    let snap = start(&second).await;
    let took = now() - t0;
    assert_eq!(text(&snap, "source"), "cache");
    assert_eq!(text(&snap, "state"), "leader");
    web_sys::console::log_1(&format!("start() from a cached verdict: {took} ms").into());
    assert!(took < 100.0, "start() from cache took {took} ms");
    // …and the background revalidation finds the blackout.
    sleep(700).await;
    assert_eq!(state(&second), "emergency");
    second.stop();
    forget(&key);
}

#[wasm_bindgen_test]
async fn poisoned_or_foreign_cache_entries_are_ignored() {
    reset().await;
    let key = format!("hp-poison-{}", now());
    let storage = web_sys::window().unwrap().local_storage().unwrap().unwrap();
    let fresh = now() as u64;
    for poison in [
        "{not json".to_string(),
        String::from("\u{0}\u{1}"),
        format!(
            r#"{{"v":2,"leader":"http://127.0.0.1:9","state":"emergency","checkedAt":{fresh},"leaderLatencyMs":1,"srtt":1,"rttvar":1,"rttSamples":3,"penalty":0,"penaltyAt":0}}"#
        ),
        format!(
            r#"{{"v":99,"leader":"{LEADER}","state":"emergency","checkedAt":{fresh},"leaderLatencyMs":1}}"#
        ),
        // The version before the RTT travelled with the verdict.
        format!(
            r#"{{"v":1,"leader":"{LEADER}","state":"emergency","checkedAt":{fresh},"leaderLatencyMs":1}}"#
        ),
        format!(
            r#"{{"v":2,"leader":"{LEADER}","state":"emergency","checkedAt":1000,"leaderLatencyMs":1,"srtt":1,"rttvar":1,"rttSamples":3,"penalty":0,"penaltyAt":0}}"#
        ),
        format!(
            r#"{{"v":2,"leader":"{LEADER}","state":"hacked","checkedAt":{fresh},"leaderLatencyMs":1,"srtt":1,"rttvar":1,"rttSamples":3,"penalty":0,"penaltyAt":0}}"#
        ),
    ] {
        storage.set_item(&key, &poison).unwrap();
        let p = proxy(&format!(
            r#"{{"cache":{{"storage":"local","key":"{key}"}}}}"#
        ));
        let snap = start(&p).await;
        assert_eq!(text(&snap, "source"), "probe", "{poison}");
        assert_eq!(text(&snap, "state"), "leader", "{poison}");
        p.stop();
    }
    // The entry left behind is a valid one again.
    let left = storage.get_item(&key).unwrap().unwrap();
    assert!(left.contains(r#""state":"leader""#), "{left}");
    storage.remove_item(&key).unwrap();
}

//! One probe round (spec §2, §3): the leader, then the follower only if the leader failed
//! (unless the round is leader-only, spec §8). It reports the outcome; the engine decides
//! what follows, with why the leader probe failed (§11). The leader's deadline knows the
//! line (§3); the follower's is the timeout.

use crate::model::health;
use crate::model::machine::{Follower, Observation};
use crate::model::report::Cause;
use crate::model::Config;
use crate::platform::env;
use crate::platform::http::{self, SendError};
use crate::platform::json::{parse_json_object, JsonBody};

pub(crate) async fn round(
    config: &Config,
    stop: &web_sys::AbortSignal,
    leader_only: bool,
    deadline_ms: u32,
) -> Observation {
    let h = &config.health;
    let started = env::now_ms();
    let expect = h.expect.as_ref();
    let answer = http::probe(
        &config.leader.join(&h.path),
        &config.leader,
        deadline_ms,
        expect.is_some(),
        stop,
    )
    .await;
    let cause = match answer {
        Ok(a) if health::is_healthy(&a, expect, parse_json_object) => {
            return Observation::LeaderUp {
                latency_ms: env::now_ms() - started,
            };
        }
        Ok(a) => health::cause(&a),
        Err(SendError::Timeout) => Cause::Timeout,
        Err(_) => Cause::Network,
    };
    if leader_only {
        return Observation::LeaderDown {
            follower: Follower::NotProbed,
            cause,
        };
    }
    let follower = http::probe(
        &config.follower.join(&h.follower_path),
        &config.follower,
        h.timeout_ms,
        false,
        stop,
    )
    .await;
    let follower = if follower.is_ok_and(|a| health::is_healthy(&a, None, |_| None::<JsonBody>)) {
        Follower::Up
    } else {
        Follower::Down
    };
    Observation::LeaderDown { follower, cause }
}

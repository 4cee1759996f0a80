//! `fetch` through the proxy (spec §2, §3, §8): route, send with a timeout, and on a
//! leader failure let a probe decide — a critical read then gets one retry on the
//! follower; nothing else is ever retried. A critical read also races a dark leader: with
//! no verdict yet, or a leader that is silent for `raceAfterMs`, the follower joins in
//! (only once the verdict allows it) and the first good answer wins.

use super::select::{select, Either};
use super::{probe, Inner};
use crate::cat;
use crate::core::error::ErrorCode;
use crate::core::routing::{Decision, Plan, Target};
use crate::core::{HealthProxyError, Source, State};
use crate::platform::http::{self, SendError};
use crate::platform::timer::sleep;
use crate::prelude::*;
use ::core::future::Future;
use ::core::pin::Pin;
use alloc::rc::Rc;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{AbortSignal, Response};

pub enum Failure {
    /// The proxy's own refusal or verdict.
    Proxy(HealthProxyError),
    /// The caller's abort reason or the browser's own error for an unbuildable request,
    /// handed back unchanged.
    Js(JsValue),
}

impl From<HealthProxyError> for Failure {
    fn from(e: HealthProxyError) -> Self {
        Failure::Proxy(e)
    }
}

/// The caller's `init`, copied to a plain object, with what routing needs from it.
struct CallerInit {
    init: js_sys::Object,
    method: String,
    signal: Option<AbortSignal>,
}

fn read_init(init: &JsValue) -> Result<CallerInit, HealthProxyError> {
    let copy = js_sys::Object::new();
    if init.is_undefined() || init.is_null() {
        return Ok(CallerInit {
            init: copy,
            method: "GET".to_string(),
            signal: None,
        });
    }
    let Some(object) = init
        .dyn_ref::<js_sys::Object>()
        .filter(|_| init.is_object())
    else {
        return Err(HealthProxyError::path(
            "init must be an object like fetch's RequestInit",
        ));
    };
    let copy = js_sys::Object::assign(&copy, object);
    let method = match js_sys::Reflect::get(&copy, &JsValue::from_str("method")) {
        Ok(m) if m.is_undefined() || m.is_null() => "GET".to_string(),
        Ok(m) => m.as_string().ok_or_else(|| {
            HealthProxyError::path("init.method must be a string such as \"POST\"")
        })?,
        Err(_) => "GET".to_string(),
    };
    let signal = js_sys::Reflect::get(&copy, &JsValue::from_str("signal"))
        .ok()
        .and_then(|s| s.dyn_into::<AbortSignal>().ok());
    Ok(CallerInit {
        init: copy,
        method,
        signal,
    })
}

/// One request to one origin, judged.
enum Outcome {
    Good(Response),
    /// A network error, a timeout or a failover status: it counts against that origin.
    Failed {
        answer: Option<Response>,
        why: String,
    },
}

type Attempt<'a> = Pin<Box<dyn Future<Output = Result<Outcome, Failure>> + 'a>>;

/// Sends the request to `target`. Dropping the attempt before it finishes aborts it.
fn attempt<'a>(
    inner: &'a Rc<Inner>,
    plan: &Plan<'_>,
    caller: &'a CallerInit,
    target: Target,
) -> Attempt<'a> {
    let url = plan.url(&inner.config, target);
    Box::pin(async move {
        let config = &inner.config;
        let who = match target {
            Target::Leader => "the leader",
            Target::Follower => "the follower",
        };
        let timeout = config.request_timeout_ms;
        match http::send(&url, &caller.init, timeout, caller.signal.as_ref()).await {
            Ok((response, mut guard)) => {
                guard.disarm();
                if config.is_failover_status(response.status()) {
                    let why = cat!(who, " answered ", response.status());
                    Ok(Outcome::Failed {
                        answer: Some(response),
                        why,
                    })
                } else {
                    Ok(Outcome::Good(response))
                }
            }
            Err(SendError::CallerAbort(reason)) | Err(SendError::Invalid(reason)) => {
                Err(Failure::Js(reason))
            }
            Err(SendError::Timeout) => Ok(Outcome::Failed {
                answer: None,
                why: cat!(who, " did not answer within ", timeout, " ms"),
            }),
            Err(SendError::Network) => Ok(Outcome::Failed {
                answer: None,
                why: cat!(who, " could not be reached (network error)"),
            }),
        }
    })
}

/// A response nobody will read: free its connection.
fn discard(response: Option<Response>) {
    if let Some(body) = response.and_then(|r| r.body()) {
        let _ = body.cancel();
    }
}

fn failed_parts(outcome: Outcome) -> (Option<Response>, String) {
    match outcome {
        Outcome::Good(response) => (Some(response), String::new()),
        Outcome::Failed { answer, why } => (answer, why),
    }
}

fn what(plan: &Plan<'_>, caller: &CallerInit) -> String {
    cat!(caller.method.to_ascii_uppercase(), ' ', plan.rel)
}

pub async fn fetch(
    inner: &Rc<Inner>,
    path_or_url: &str,
    init: &JsValue,
) -> Result<Response, Failure> {
    let caller = read_init(init)?;
    let config = &inner.config;
    let plan = Plan::new(config, path_or_url, &caller.method)?;
    let mut state = inner.machine.borrow().state();
    if state == State::Unknown {
        if plan.read && plan.critical {
            probe::spawn(inner, Source::Probe);
            return race_unknown(inner, &plan, &caller).await;
        }
        // Writes and other reads wait for the verdict.
        state = probe::shared(inner, Source::Probe).await.state;
    }
    match plan.decide(state) {
        Decision::Wait => Err(plan.refusal(ErrorCode::NotReady, &caller.method).into()),
        Decision::Refuse(code) => Err(plan.refusal(code, &caller.method).into()),
        Decision::Send(Target::Follower) => via_follower(inner, &plan, &caller).await,
        Decision::Send(Target::Leader) => via_leader(inner, &plan, &caller).await,
    }
}

/// Spec §8, no verdict yet: the leader at once; the follower as well once the leader has
/// been silent for `raceAfterMs`, or has already failed.
async fn race_unknown(
    inner: &Rc<Inner>,
    plan: &Plan<'_>,
    caller: &CallerInit,
) -> Result<Response, Failure> {
    let leader = attempt(inner, plan, caller, Target::Leader);
    match select(leader, Box::pin(sleep(inner.config.race_after_ms))).await {
        // The leader answered in time, well or badly; after a failure the follower tries.
        Either::Left((outcome, _)) => {
            let follower = attempt(inner, plan, caller, Target::Follower);
            settle(inner, plan, caller, outcome?, true, follower).await
        }
        Either::Right(((), leader)) => {
            let follower = attempt(inner, plan, caller, Target::Follower);
            first_good(inner, plan, caller, leader, follower).await
        }
    }
}

/// The leader and the follower both in flight: the first good answer wins, the other is
/// aborted.
async fn first_good<'a>(
    inner: &'a Rc<Inner>,
    plan: &Plan<'_>,
    caller: &'a CallerInit,
    leader: Attempt<'a>,
    follower: Attempt<'a>,
) -> Result<Response, Failure> {
    let (first, other, leader_first) = match select(leader, follower).await {
        Either::Left((outcome, follower)) => (outcome?, follower, true),
        Either::Right((outcome, leader)) => (outcome?, leader, false),
    };
    settle(inner, plan, caller, first, leader_first, other).await
}

/// One origin has answered (`first`): a good answer wins and `other` is dropped, which
/// aborts it; otherwise `other`'s answer counts.
async fn settle<'a>(
    inner: &'a Rc<Inner>,
    plan: &Plan<'_>,
    caller: &'a CallerInit,
    first: Outcome,
    first_is_leader: bool,
    other: Attempt<'a>,
) -> Result<Response, Failure> {
    if let Outcome::Good(response) = first {
        return Ok(response);
    }
    let second = other.await?;
    if let Outcome::Good(response) = second {
        discard(failed_parts(first).0);
        return Ok(response);
    }
    let (leader, follower) = if first_is_leader {
        (first, second)
    } else {
        (second, first)
    };
    both_failed(inner, plan, caller, leader, follower).await
}

/// Neither origin answered well: the verdict decides what the caller gets.
async fn both_failed(
    inner: &Rc<Inner>,
    plan: &Plan<'_>,
    caller: &CallerInit,
    leader: Outcome,
    follower: Outcome,
) -> Result<Response, Failure> {
    let state = probe::shared(inner, Source::Request).await.state;
    let (mut leader_answer, leader_why) = failed_parts(leader);
    let (mut follower_answer, follower_why) = failed_parts(follower);
    // An origin the verdict calls healthy gave its own answer (a 5xx): that is the answer.
    let chosen = match state {
        State::Leader => leader_answer.take(),
        State::Emergency => follower_answer.take(),
        State::Unknown | State::Offline => None,
    };
    discard(leader_answer);
    discard(follower_answer);
    if let Some(response) = chosen {
        return Ok(response);
    }
    let code = if state == State::Offline {
        ErrorCode::Offline
    } else {
        ErrorCode::LeaderUnavailable
    };
    Err(HealthProxyError::new(
        code,
        cat!(what(plan, caller), ": ", leader_why, ", and ", follower_why),
    )
    .into())
}

async fn via_leader(
    inner: &Rc<Inner>,
    plan: &Plan<'_>,
    caller: &CallerInit,
) -> Result<Response, Failure> {
    let leader = attempt(inner, plan, caller, Target::Leader);
    let outcome = if plan.read && plan.critical {
        match select(leader, Box::pin(sleep(inner.config.race_after_ms))).await {
            Either::Left((outcome, _)) => outcome?,
            Either::Right(((), leader)) => return slow_leader(inner, plan, caller, leader).await,
        }
    } else {
        leader.await?
    };
    after_leader(inner, plan, caller, outcome).await
}

/// Spec §8 in state `leader`: a critical read the leader has not answered within
/// `raceAfterMs` probes the leader now. Only if that moves the verdict to `emergency` is
/// the still-pending read also sent to the follower.
async fn slow_leader<'a>(
    inner: &'a Rc<Inner>,
    plan: &Plan<'_>,
    caller: &'a CallerInit,
    leader: Attempt<'a>,
) -> Result<Response, Failure> {
    let probe = Box::pin(probe::leader_only(inner));
    let leader_outcome = match select(leader, probe).await {
        Either::Left((outcome, _probe)) => outcome?,
        Either::Right((snapshot, leader)) => {
            if snapshot.state == State::Emergency {
                let follower = attempt(inner, plan, caller, Target::Follower);
                return first_good(inner, plan, caller, leader, follower).await;
            }
            leader.await?
        }
    };
    after_leader(inner, plan, caller, leader_outcome).await
}

/// The leader's answer. A failure lets a probe decide: a critical read then gets its one
/// retry on the follower; a write is reported, never retried.
async fn after_leader(
    inner: &Rc<Inner>,
    plan: &Plan<'_>,
    caller: &CallerInit,
    outcome: Outcome,
) -> Result<Response, Failure> {
    let (answer, why) = match outcome {
        Outcome::Good(response) => return Ok(response),
        Outcome::Failed { answer, why } => (answer, why),
    };
    let state = probe::shared(inner, Source::Request).await.state;
    let what = what(plan, caller);
    if !plan.read {
        discard(answer);
        return Err(HealthProxyError::new(
            ErrorCode::LeaderUnavailable,
            cat!(what, ": ", why, "; a write is never retried, so check whether it took effect before sending it again"),
        )
        .into());
    }
    if state == State::Leader {
        // The probe found the leader healthy: its own answer, if it gave one.
        return match answer {
            Some(response) => Ok(response),
            None => Err(
                HealthProxyError::new(ErrorCode::LeaderUnavailable, cat!(what, ": ", why)).into(),
            ),
        };
    }
    discard(answer);
    match plan.decide(state) {
        Decision::Send(Target::Follower) => via_follower(inner, plan, caller).await,
        Decision::Refuse(code) => {
            let refusal = plan.refusal(code, &caller.method);
            Err(HealthProxyError::new(code, cat!(refusal.message, " (", why, ')')).into())
        }
        Decision::Send(Target::Leader) | Decision::Wait => {
            Err(HealthProxyError::new(ErrorCode::LeaderUnavailable, cat!(what, ": ", why)).into())
        }
    }
}

/// In `emergency`: the follower's answer, whatever its status. A failure lets a probe
/// tell emergency from offline for the next request.
async fn via_follower(
    inner: &Rc<Inner>,
    plan: &Plan<'_>,
    caller: &CallerInit,
) -> Result<Response, Failure> {
    match attempt(inner, plan, caller, Target::Follower).await? {
        Outcome::Good(response) => Ok(response),
        Outcome::Failed {
            answer: Some(response),
            ..
        } => {
            probe::spawn(inner, Source::Request);
            Ok(response)
        }
        Outcome::Failed { answer: None, why } => {
            probe::spawn(inner, Source::Request);
            Err(HealthProxyError::new(
                ErrorCode::Offline,
                cat!(
                    what(plan, caller),
                    ": the leader is unavailable and ",
                    why,
                    "; this client appears to be offline"
                ),
            )
            .into())
        }
    }
}

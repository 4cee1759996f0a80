//! `fetch` through the proxy: carries out the request policy (`model::policy`, spec §2,
//! §3, §8) — sends, races, waits for probes, retries a read on the leader (budgeted) or
//! a critical one on the follower, lets reads go when the verdict leaves the leader — and
//! hands the response over with its deadline still running on the body.

use super::select::{select, Either};
use super::{Engine, Via};
use crate::model::error::{ErrorCode, HealthProxyError, Why};
use crate::model::plan::Plan;
use crate::model::policy::{self, AfterFailure, Deserted, Start, Watch};
use crate::model::report::Met;
use crate::model::sending;
use crate::model::target::Target;
use crate::model::{Source, State};
use crate::platform::http::{self, AbortGuard, SendError};
use crate::platform::{describe, env, Sleep};
use futures_channel::oneshot;
use std::future::Future;
use std::pin::Pin;
use wasm_bindgen::JsValue;
use web_sys::{AbortSignal, RequestInit, Response};

/// A request as the caller made it, read from its arguments by the JS layer.
#[derive(Debug)]
pub(crate) struct Call {
    pub(crate) path: String,
    pub(crate) method: String,
    /// A plain copy of the caller's `init`.
    pub(crate) init: RequestInit,
    /// The caller's signal (already checked to be a real `AbortSignal`).
    pub(crate) signal: Option<AbortSignal>,
    /// The JS layer's conversion of an error, for one raised after `fetch` resolved (a
    /// write's stalled body).
    pub(crate) error_to_js: fn(&HealthProxyError) -> JsValue,
}

#[derive(Debug)]
pub(crate) enum Failure {
    /// The proxy's own refusal or verdict.
    Proxy(HealthProxyError),
    /// The caller's abort reason, handed back unchanged.
    CallerAbort(JsValue),
}

impl From<HealthProxyError> for Failure {
    fn from(e: HealthProxyError) -> Self {
        Failure::Proxy(e)
    }
}

/// A response with the guard that still bounds its body.
type Sent = (Response, AbortGuard);

/// One request to one origin, judged.
enum Judged {
    Good(Sent),
    /// A network error, a timeout or a failover status: it counts against that origin.
    Failed {
        answer: Option<Sent>,
        why: Why,
    },
}

type Attempt<'a> = Pin<Box<dyn Future<Output = Result<Judged, Failure>> + 'a>>;

/// Where [`Request::lead`] leaves a request.
enum Then<'a> {
    Done(JsValue),
    /// The verdict left the leader: a critical read races the follower.
    Race(Attempt<'a>),
    Follower,
}

/// An attempt already finished, for [`Request::lead`].
fn done<'a>(outcome: Result<Judged, Failure>) -> Attempt<'a> {
    Box::pin(std::future::ready(outcome))
}

struct Request<'a> {
    engine: &'a Engine,
    plan: Plan<'a>,
    call: &'a Call,
    /// The idempotency key a write carries (spec §2), when `writes.idempotencyKey` is set.
    key: Option<String>,
}

/// A response, or a promise of one (a small body is read in whole first: `http::watch_body`).
pub(crate) async fn fetch(engine: &Engine, call: &Call) -> Result<JsValue, Failure> {
    let plan = Plan::new(engine.config(), &call.path, &call.method)
        .map_err(|e| Failure::Proxy(e.into()))?;
    let key = match &engine.config().idempotency_key {
        Some(name) if !plan.read => http::put_key(&call.init, name),
        _ => None,
    };
    let r = Request {
        engine,
        plan,
        call,
        key,
    };
    if r.plan.read {
        engine.read_made();
    }
    // Spec §2: an `offline` from probes is looked at again (a round of this instance's
    // own) before it refuses anything: within a second of the last round, once the next
    // may start (looked at again then: another request or tab may have started it).
    let asked_at = env::now_ms();
    let mut recheck = engine.rechecks_offline(asked_at);
    while let Some(wait_ms) = recheck.filter(|ms| *ms > 0.0) {
        Sleep::new(wait_ms.ceil() as u32).await;
        recheck = engine.rechecks_offline(asked_at);
    }
    let mut start = policy::start(engine.state(), r.plan.read, r.plan.critical);
    // One await site for both waits: each costs code.
    if start == Start::AwaitVerdict || recheck.is_some() {
        let via = if recheck.is_some() {
            Via::Round(Source::Request)
        } else {
            Via::Tabs
        };
        let state = engine.verdict(via).await.state;
        start = policy::start(state, r.plan.read, r.plan.critical);
    } else if engine.state() == State::Unknown {
        // The verdict comes from probes only: a read sent before any asks for one in
        // the background (from the tabs' prober when there is one, as start() does).
        engine.refresh(Via::Tabs);
    }
    // Each step is awaited from one site (each await of a step costs code).
    let then = match start {
        Start::Refuse(code) => return Err(r.refusal(code).into()),
        Start::AwaitVerdict => return Err(r.refusal(ErrorCode::NotReady).into()),
        Start::Follower => Then::Follower,
        Start::Leader { watched } => {
            let leader = r.attempt(Target::Leader);
            let next = if watched {
                r.watched(leader).await
            } else {
                Either::Left(leader)
            };
            match next {
                Either::Left(leader) => r.lead(leader).await?,
                Either::Right(leader) => Then::Race(leader),
            }
        }
    };
    match then {
        Then::Done(response) => Ok(response),
        Then::Race(leader) => r.race(leader).await,
        Then::Follower => r.via_follower().await,
    }
}

impl<'a> Request<'a> {
    fn refusal(&self, code: ErrorCode) -> HealthProxyError {
        self.tally(code);
        self.plan.refusal(code, &self.call.method)
    }

    /// Spec §11: a refusal the live outage episode counts.
    fn tally(&self, code: ErrorCode) {
        match code {
            ErrorCode::LeaderUnavailable => self.engine.met(Met::LeaderUnavailable),
            ErrorCode::OutcomeUnknown => self.engine.met(Met::OutcomeUnknown),
            _ => {}
        }
    }

    fn what(&self) -> String {
        self.plan.what(&self.call.method)
    }

    /// `code`, naming the request, why it failed, and `more`.
    fn failed(&self, code: ErrorCode, why: Why, more: &str) -> Failure {
        self.tally(code);
        HealthProxyError::new(code, format!("{}: {why}{more}", self.what())).into()
    }

    /// Sends the request to `target`. Dropping the attempt before it finishes aborts it.
    fn attempt(&self, target: Target) -> Attempt<'a> {
        let url = self.plan.url(target);
        let timeout = self.engine.config().request_timeout_ms;
        let engine = self.engine;
        let call = self.call;
        let read = self.plan.read;
        let credentials = sending::keeps_credentials(target, engine.config().follower_credentials);
        Box::pin(async move {
            let follower = target == Target::Follower;
            if follower {
                engine.met(Met::FollowerRequest);
            }
            let sent = http::send(&url, &call.init, timeout, call.signal.as_ref(), credentials);
            let why = match sent.await {
                Ok((response, guard)) => {
                    let status = response.status();
                    let failover = engine.config().is_failover_status(status);
                    if !read {
                        // Any answer: the leader's CORS let this write through.
                        engine.write_answered();
                    }
                    match sending::judge(read, http::is_redirect(&response), failover) {
                        sending::Judged::Good => {
                            if follower {
                                // Only critical reads reach the follower; a good answer
                                // from it is the one handed over.
                                engine.met(Met::FollowerRead);
                            }
                            return Ok(Judged::Good((response, guard)));
                        }
                        sending::Judged::FailedAnswered => {
                            let answer = Some((response, guard));
                            return Ok(Judged::Failed {
                                answer,
                                why: Why::Status(target, status),
                            });
                        }
                        // Dropping the response aborts what is left of it.
                        sending::Judged::FailedUnanswered => Why::Redirect(target),
                    }
                }
                Err(SendError::CallerAbort(reason)) => return Err(Failure::CallerAbort(reason)),
                Err(SendError::Invalid(e)) => {
                    let message = format!("init cannot make a request to {url}: {}", describe(&e));
                    return Err(HealthProxyError::new(ErrorCode::InvalidPath, message).into());
                }
                Err(SendError::Timeout) => Why::Timeout(target, timeout),
                Err(SendError::Network) => Why::Network(target),
            };
            Ok(Judged::Failed { answer: None, why })
        })
    }

    /// `OUTCOME_UNKNOWN` with the key sent and how to retry safely (spec §2).
    fn unknown_outcome(&self, what_happened: String) -> HealthProxyError {
        let retry = match (&self.key, &self.engine.config().idempotency_key) {
            (Some(key), Some(name)) => {
                format!("to retry safely, resend it with the header {name}: {key}")
            }
            _ => "check whether it took effect before resending it".into(),
        };
        HealthProxyError {
            code: ErrorCode::OutcomeUnknown,
            message: format!("{} {what_happened}; {retry}", self.what()),
            idempotency_key: self.key.clone(),
        }
    }

    /// The response for the caller. Its body stays under the request's deadline: a body
    /// that stalls is aborted then (reading it rejects) and triggers a probe. A write's
    /// status is its outcome, so its fetch resolves; a read of its stalled body rejects
    /// with `OUTCOME_UNKNOWN`: the rest of the answer is what is unknown, and a resend
    /// with the key gets the leader's stored answer whole.
    fn deliver(&self, (response, guard): Sent) -> JsValue {
        let engine = self.engine.clone();
        let error_to_js = self.call.error_to_js;
        let stalled = (!self.plan.read).then(|| {
            let ms = self.engine.config().request_timeout_ms;
            self.unknown_outcome(format!(
                "was answered {} by the leader, but the rest did not arrive within {ms} ms",
                response.status()
            ))
        });
        http::watch_body(response, guard, move || {
            engine.refresh(Via::Round(Source::Request));
            stalled.as_ref().map(error_to_js)
        })
    }

    /// Spec §8: a critical read that the leader leaves silent for `raceAfterMs`. Then it
    /// probes the leader, and lets the read escape to the follower once the probe has
    /// been open for the confirmation bound; only the probe moves the verdict. Gives the
    /// leader attempt back to [`Self::lead`] (left) or to [`Self::race`] (right): one
    /// call site of each, as each await of them costs code.
    async fn watched(&self, leader: Attempt<'a>) -> Either<Attempt<'a>, Attempt<'a>> {
        let engine = self.engine;
        let sent = env::now_ms();
        // Sent before any verdict: whatever verdict there is now came after it.
        let unknown_when_sent = engine.state() == State::Unknown;
        let leader = match select(leader, Sleep::new(engine.config().race_after_ms)).await {
            Either::Left((outcome, _)) => return Either::Left(done(outcome)),
            Either::Right(((), leader)) => leader,
        };
        let now = engine.snapshot();
        let probed_since_sent = unknown_when_sent || now.checked_at.is_some_and(|at| at >= sent);
        match policy::when_slow(now.state, probed_since_sent) {
            Watch::JoinFollower => return Either::Right(leader),
            Watch::KeepWaiting => return Either::Left(done(leader.await)),
            Watch::Confirm => {}
        }
        let watch = async move {
            let probe = Box::pin(engine.verdict(Via::LeaderOnly));
            match select(probe, Sleep::new(engine.escape_after_ms())).await {
                Either::Left((snapshot, _)) => policy::when_confirmed(snapshot.state),
                Either::Right(((), probe)) => match policy::when_escaping(engine.claim_escape()) {
                    Watch::JoinFollower => Watch::JoinFollower,
                    // Another read escaped in this stall: wait for the verdict (or the leader).
                    _ => policy::when_confirmed(probe.await.state),
                },
            }
        };
        match select(leader, Box::pin(watch)).await {
            Either::Left((outcome, _)) => Either::Left(done(outcome)),
            Either::Right((Watch::JoinFollower, leader)) => Either::Right(leader),
            Either::Right((_, leader)) => Either::Left(leader),
        }
    }

    /// The leader and the follower both in flight: the first good answer wins, the other
    /// is aborted.
    async fn race(&self, leader: Attempt<'a>) -> Result<JsValue, Failure> {
        let follower = self.attempt(Target::Follower);
        let (first, other) = match select(leader, follower).await {
            Either::Left((outcome, other)) | Either::Right((outcome, other)) => (outcome?, other),
        };
        let first = match first {
            Judged::Good(sent) => return Ok(self.deliver(sent)),
            Judged::Failed { answer, why } => (answer, why),
        };
        let second = match other.await? {
            Judged::Good(sent) => return Ok(self.deliver(sent)),
            Judged::Failed { answer, why } => (answer, why),
        };
        let ((leader_answer, leader_why), (follower_answer, follower_why)) =
            if first.1.target() == Target::Leader {
                (first, second)
            } else {
                (second, first)
            };
        let state = self.engine.verdict(Via::Round(Source::Request)).await.state;
        match policy::after_both_failed(state, leader_answer, follower_answer) {
            Ok(sent) => Ok(self.deliver(sent)),
            Err(code) => Err(self.failed(code, leader_why, &format!(", and {follower_why}"))),
        }
    }

    /// The leader attempt to its end, or until the verdict leaves the leader (then a
    /// critical read races the follower, another is refused at once: dropping the
    /// attempt aborts it). Then the leader's answer. A failure lets a probe decide (spec
    /// §2): the leader's own answer if it is healthy; with none, one leader retry of a
    /// read (budgeted), and a critical read whose retry fails too goes to the follower;
    /// with the leader down, a critical read goes to the follower.
    async fn lead(&self, mut leader: Attempt<'a>) -> Result<Then<'a>, Failure> {
        let mut retried = false;
        // True once the verdict has left and the read keeps waiting regardless.
        let mut kept_waiting = false;
        loop {
            // A read that follows the verdict waits on the leader no longer than the state
            // stays `leader`; anything else just waits, on a departure that never comes
            // (its sender is held here).
            let (_held, never) = oneshot::channel();
            let state = self.engine.state();
            let departure = if policy::follows_verdict(state, self.plan.read, kept_waiting) {
                self.engine.departure()
            } else {
                never
            };
            let outcome = match select(leader, departure).await {
                Either::Left((outcome, _)) => outcome?,
                Either::Right((_, left)) => {
                    match policy::when_left_leader(self.engine.state(), self.plan.critical) {
                        Deserted::Race => return Ok(Then::Race(left)),
                        Deserted::Refuse(code) => return Err(self.refusal(code).into()),
                        Deserted::KeepWaiting => {
                            // The same wait, on no departure (one await site, less code).
                            (kept_waiting, leader) = (true, left);
                            continue;
                        }
                    }
                }
            };
            let (answer, why) = match outcome {
                Judged::Good(sent) => return Ok(Then::Done(self.deliver(sent))),
                Judged::Failed { answer, why } => (answer, why),
            };
            let state: State = self.engine.verdict(Via::Round(Source::Request)).await.state;
            if !self.plan.read && why == Why::Network(Target::Leader) {
                self.engine
                    .write_lost(state == State::Leader, &self.call.method);
            }
            let after = policy::after_leader_failure(
                state,
                self.plan.read,
                self.plan.critical,
                answer,
                retried,
                || self.engine.withdraw_retry(),
            );
            // An answer not handed over is dropped here, which aborts what is left of it.
            return match after {
                AfterFailure::RetryLeader => {
                    (retried, kept_waiting) = (true, false);
                    leader = self.attempt(Target::Leader);
                    continue;
                }
                AfterFailure::Answer(sent) => Ok(Then::Done(self.deliver(sent))),
                AfterFailure::Follower => Ok(Then::Follower),
                AfterFailure::Refuse(code) => {
                    let refusal = self.refusal(code);
                    Err(HealthProxyError::new(code, format!("{} ({why})", refusal.message)).into())
                }
                AfterFailure::OutcomeUnknown => {
                    self.tally(ErrorCode::OutcomeUnknown);
                    Err(self
                        .unknown_outcome(format!(
                        "got no answer ({why}); it may have taken effect, so it is never retried"
                    ))
                        .into())
                }
                AfterFailure::Unavailable => {
                    Err(self.failed(ErrorCode::LeaderUnavailable, why, ""))
                }
                AfterFailure::BudgetSpent => {
                    let spent = "; the retry budget is spent";
                    Err(self.failed(ErrorCode::LeaderUnavailable, why, spent))
                }
            };
        }
    }

    /// In `emergency`: the follower's answer, whatever its status. No answer lets a probe
    /// decide (spec §2): the leader once if it is back, else the verdict's refusal.
    async fn via_follower(&self) -> Result<JsValue, Failure> {
        // One attempt site for both tries (each await costs code): `first` holds the
        // follower's failure once it is known.
        let mut target = Target::Follower;
        let mut first: Option<Why> = None;
        let (code, why) = loop {
            let why = match self.attempt(target).await? {
                Judged::Good(sent) => return Ok(self.deliver(sent)),
                Judged::Failed {
                    answer: Some(sent), ..
                } => {
                    if first.is_none() {
                        self.engine.refresh(Via::Round(Source::Request));
                    }
                    return Ok(self.deliver(sent));
                }
                Judged::Failed { answer: None, why } => why,
            };
            if let Some(first) = first {
                break (policy::AFTER_LEADER_RETRY_FAILED, first);
            }
            first = Some(why);
            let state = self.engine.verdict(Via::Round(Source::Request)).await.state;
            match policy::after_follower_failure(state) {
                Ok(next) => target = next,
                Err(code) => break (code, why),
            }
        };
        let offline = (code == ErrorCode::Offline).then_some("; this client appears to be offline");
        Err(self.failed(code, why, offline.unwrap_or_default()))
    }
}

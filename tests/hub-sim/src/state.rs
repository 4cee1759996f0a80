//! Shared simulator state: modes, counters, notes, and the signals the API listeners follow.

use crate::log::Logger;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// Locks a mutex, ignoring poisoning (a panic elsewhere must not take the server down).
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Role {
    Leader,
    Follower,
}

impl Role {
    pub fn name(self) -> &'static str {
        match self {
            Role::Leader => "leader",
            Role::Follower => "follower",
        }
    }
}

/// Names as clap spells them (kebab-case) are the names the control API and `/state` use.
#[derive(Clone, Copy, PartialEq, Eq, Debug, clap::ValueEnum)]
pub enum LeaderMode {
    Up,
    AppDown,
    Refused,
    Blackout,
    Slow,
    WrongBody,
    Flapping,
    /// Healthy, but with random hiccups (seeded) that hold every arriving request.
    Jitter,
    /// Up, but its health check sends its head and a first part of the body, then stalls.
    HealthStall,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug, clap::ValueEnum)]
pub enum FollowerMode {
    Up,
    Refused,
    Down,
}

/// The mode names of a clap value enum, for parsing, printing and error messages: the
/// names clap derives (kebab-case), so the command line, the control API and `/state`
/// spell them alike.
pub trait ModeName: clap::ValueEnum + Copy + 'static {
    fn name(self) -> String {
        self.to_possible_value()
            .map(|v| v.get_name().to_string())
            .unwrap_or_default()
    }
    fn parse(s: &str) -> Option<Self> {
        Self::from_str(s, false).ok()
    }
    fn valid_list() -> String {
        Self::value_variants()
            .iter()
            .map(|m| m.name())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl<T: clap::ValueEnum + Copy + 'static> ModeName for T {}

/// What an API server does with one request, resolved at arrival time.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Effective {
    Up,
    /// Leader app-down (502) or follower down (503).
    Down,
    Blackout,
    Slow,
    WrongBody,
    HealthStall,
}

#[derive(Default, Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Counters {
    pub requests: u64,
    pub probes: u64,
    pub reads: u64,
    pub writes: u64,
    pub preflights: u64,
    pub preflight_write_methods: u64,
    pub by_path: BTreeMap<String, u64>,
    pub hangs_open: u64,
    pub hangs_closed_ms: Vec<u64>,
    /// The `Idempotency-Key` of each write that carried one, in arrival order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub write_keys: Vec<String>,
    /// Probes by the `Host` they were sent to: `localhost` and `127.0.0.1` reach the same
    /// server, and tests tell a route's base from the main one by it.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub probe_hosts: BTreeMap<String, u64>,
    /// Outage reports (`POST /reports`, spec §11) that arrived here, taken or not: the
    /// follower must never see one; and how many of them carried a cookie (none may:
    /// `credentials: "omit"`).
    pub reports: u64,
    pub report_cookies: u64,
}

impl Counters {
    /// Counts one arriving request. Returns the new `requests` value.
    pub fn count(&mut self, method: &str, path: &str, acr_method: Option<&str>) -> u64 {
        if method == "OPTIONS" {
            self.preflights += 1;
            if let Some(m) = acr_method {
                let m = m.trim();
                if !m.eq_ignore_ascii_case("GET") && !m.eq_ignore_ascii_case("HEAD") {
                    self.preflight_write_methods += 1;
                }
            }
            return self.requests;
        }
        self.requests += 1;
        *self.by_path.entry(path.to_string()).or_insert(0) += 1;
        if method == "POST" && path == REPORTS_PATH {
            self.reports += 1;
        }
        if method == "GET" || method == "HEAD" {
            if path.starts_with("/health") {
                self.probes += 1;
            } else {
                self.reads += 1;
            }
        } else {
            self.writes += 1;
        }
        self.requests
    }

    /// Counts a probe's `Host` (called with each request `count` has counted).
    pub fn count_host(&mut self, method: &str, path: &str, host: Option<&str>) {
        if (method == "GET" || method == "HEAD") && path.starts_with("/health") {
            let host = host.unwrap_or("(none)").to_string();
            *self.probe_hosts.entry(host).or_insert(0) += 1;
        }
    }
}

/// Where the leader takes outage reports (spec §11; the tests' `reports.path`).
pub const REPORTS_PATH: &str = "/reports";

/// One side's entry of `/stats`: its mode, its counters, and (leader) how many notes it holds.
#[derive(Serialize)]
struct RoleStats<'a> {
    mode: String,
    #[serde(flatten)]
    counters: &'a Counters,
    notes: usize,
}

#[derive(Serialize)]
struct Stats<'a> {
    leader: RoleStats<'a>,
    follower: RoleStats<'a>,
    jitter: JitterStats<'a>,
}

/// The hiccups of mode `jitter` since it was switched on: the finished ones' durations.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JitterStats<'a> {
    hiccups: usize,
    hiccups_ms: &'a [u64],
    in_hiccup: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct State {
    leader: String,
    follower: String,
    slow_ms: u64,
    flap_ms: u64,
    delay_ms: u64,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Note {
    pub id: u64,
    pub text: String,
    pub client_id: String,
}

/// Command-line settings (the defaults `reset` returns to).
#[derive(Debug, Clone)]
pub struct Settings {
    pub host: String,
    pub leader_port: u16,
    pub follower_port: u16,
    pub control_port: u16,
    pub www: PathBuf,
    pub pkg: PathBuf,
    pub delay_ms: u64,
    pub slow_ms: u64,
    pub flap_ms: u64,
    pub jitter_seed: u64,
    pub leader_mode: LeaderMode,
    pub follower_mode: FollowerMode,
}

pub struct Inner {
    pub leader_mode: LeaderMode,
    pub leader_since: Instant,
    pub follower_mode: FollowerMode,
    pub slow_ms: u64,
    pub flap_ms: u64,
    pub delay_ms: u64,
    /// How many of the next leader API requests are lost (held unanswered, as a lossy
    /// line loses them) while its health check stays up: `/lose/{n}`.
    pub lose: u32,
    /// What the leader's preflight answers allow in `Access-Control-Allow-Headers`:
    /// `None` allows whatever is asked; `/allow-headers/{list}` sets a fixed list, as an
    /// NGINX config that names only `Content-Type` does.
    pub allow_headers: Option<String>,
    pub leader: Counters,
    pub follower: Counters,
    pub notes: Vec<Note>,
    pub next_note_id: u64,
    /// The outage reports the leader took, in arrival order (`/reports` of the control
    /// API), and how many of the next ones it answers 503 instead (`/reports-fail/{n}`).
    pub reports: Vec<serde_json::Value>,
    pub report_failures: u32,
    pub jitter: Jitter,
    /// Bumped by `reset`, so hangs that started before a reset are not recorded after it.
    pub epoch: u64,
}

impl Inner {
    fn new(s: &Settings) -> Self {
        Inner {
            leader_mode: s.leader_mode,
            leader_since: Instant::now(),
            follower_mode: s.follower_mode,
            slow_ms: s.slow_ms,
            flap_ms: s.flap_ms,
            delay_ms: s.delay_ms,
            lose: 0,
            allow_headers: None,
            leader: Counters::default(),
            follower: Counters::default(),
            notes: Vec::new(),
            next_note_id: 1,
            reports: Vec::new(),
            report_failures: 0,
            jitter: Jitter::new(s.jitter_seed, Instant::now()),
            epoch: 0,
        }
    }

    pub fn counters(&mut self, role: Role) -> &mut Counters {
        match role {
            Role::Leader => &mut self.leader,
            Role::Follower => &mut self.follower,
        }
    }

    pub fn is_refused(&self, role: Role) -> bool {
        match role {
            Role::Leader => self.leader_mode == LeaderMode::Refused,
            Role::Follower => self.follower_mode == FollowerMode::Refused,
        }
    }

    /// The behaviour for a request arriving now (flapping resolved to up / app-down).
    pub fn effective(&self, role: Role) -> Effective {
        match role {
            Role::Follower => match self.follower_mode {
                FollowerMode::Down => Effective::Down,
                // Refused never gets here (nothing arrives).
                FollowerMode::Up | FollowerMode::Refused => Effective::Up,
            },
            Role::Leader => match self.leader_mode {
                // Jitter is up; its hiccups hold requests first (`hiccup_end`).
                LeaderMode::Up | LeaderMode::Refused | LeaderMode::Jitter => Effective::Up,
                LeaderMode::AppDown => Effective::Down,
                LeaderMode::Blackout => Effective::Blackout,
                LeaderMode::Slow => Effective::Slow,
                LeaderMode::WrongBody => Effective::WrongBody,
                LeaderMode::HealthStall => Effective::HealthStall,
                LeaderMode::Flapping => {
                    let phase =
                        self.leader_since.elapsed().as_millis() / u128::from(self.flap_ms.max(1));
                    if phase & 1 == 0 {
                        Effective::Up
                    } else {
                        Effective::Down
                    }
                }
            },
        }
    }

    pub fn state_json(&self) -> String {
        json_text(&State {
            leader: self.leader_mode.name(),
            follower: self.follower_mode.name(),
            slow_ms: self.slow_ms,
            flap_ms: self.flap_ms,
            delay_ms: self.delay_ms,
        })
    }

    /// When the current hiccup of mode `jitter` ends, if a request arriving now falls in one.
    pub fn hiccup_end(&mut self, now: Instant) -> Option<Instant> {
        if self.leader_mode != LeaderMode::Jitter {
            return None;
        }
        self.sync_jitter(now);
        self.jitter.hiccup_end(now)
    }

    /// A switch to `jitter` restarts its schedule from the seed, so runs are repeatable.
    fn sync_jitter(&mut self, now: Instant) {
        if self.jitter.origin != self.leader_since {
            self.jitter = Jitter::new(self.jitter.seed, self.leader_since);
        }
        self.jitter.advance(now);
    }

    pub fn stats_json(&mut self) -> String {
        let now = Instant::now();
        // Outside mode `jitter` the figures of its last run stay as they were.
        let in_hiccup = self.hiccup_end(now).is_some();
        json_text(&Stats {
            leader: RoleStats {
                mode: self.leader_mode.name(),
                counters: &self.leader,
                notes: self.notes.len(),
            },
            follower: RoleStats {
                mode: self.follower_mode.name(),
                counters: &self.follower,
                notes: 0,
            },
            jitter: JitterStats {
                hiccups: self.jitter.done_ms.len(),
                hiccups_ms: &self.jitter.done_ms,
                in_hiccup,
            },
        })
    }

    pub fn reset(&mut self, s: &Settings) {
        let epoch = self.epoch + 1;
        *self = Inner::new(s);
        self.leader_mode = LeaderMode::Up;
        self.follower_mode = FollowerMode::Up;
        self.epoch = epoch;
    }
}

/// The hiccup schedule of mode `jitter`: gaps of `GAP_MS` then hiccups of `HICCUP_MS`,
/// drawn from a seeded generator, laid out lazily from the moment the mode was set.
pub struct Jitter {
    seed: u64,
    rng: u64,
    origin: Instant,
    /// The next (or current) hiccup.
    start: Instant,
    end: Instant,
    /// Durations of the hiccups that have ended.
    pub done_ms: Vec<u64>,
}

pub const GAP_MS: (u64, u64) = (1500, 4000);
pub const HICCUP_MS: (u64, u64) = (300, 1200);

impl Jitter {
    pub fn new(seed: u64, origin: Instant) -> Self {
        let mut j = Jitter {
            seed,
            rng: seed,
            origin,
            start: origin,
            end: origin,
            done_ms: Vec::new(),
        };
        j.schedule_after(origin);
        j
    }

    /// splitmix64: tiny, seedable, good enough to spread hiccups.
    fn next(&mut self) -> u64 {
        self.rng = self.rng.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn between(&mut self, (lo, hi): (u64, u64)) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }

    fn schedule_after(&mut self, t: Instant) {
        self.start = t + Duration::from_millis(self.between(GAP_MS));
        self.end = self.start + Duration::from_millis(self.between(HICCUP_MS));
    }

    /// Records every hiccup that has ended by `now` and schedules the next.
    fn advance(&mut self, now: Instant) {
        while self.end <= now {
            let ms = u64::try_from((self.end - self.start).as_millis()).unwrap_or(u64::MAX);
            self.done_ms.push(ms);
            let end = self.end;
            self.schedule_after(end);
        }
    }

    fn hiccup_end(&self, now: Instant) -> Option<Instant> {
        (now >= self.start && now < self.end).then_some(self.end)
    }
}

/// JSON text in field order (a `serde_json::Value` would sort the keys). Plain structs of
/// strings and integers always serialise, so the empty fallback is never reached.
pub fn json_text<T: Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

pub struct Sim {
    pub settings: Settings,
    pub inner: Mutex<Inner>,
    /// Bumped on every mode change; the API listeners wake on it to close or re-open.
    pub modes: watch::Sender<u64>,
    /// Whether each API server's listening socket is open (leader, follower).
    pub listening: [watch::Sender<bool>; 2],
    pub log: Logger,
}

impl Sim {
    pub fn new(settings: Settings, log: Logger) -> Arc<Self> {
        let inner = Inner::new(&settings);
        Arc::new(Sim {
            settings,
            inner: Mutex::new(inner),
            modes: watch::Sender::new(0),
            listening: [watch::Sender::new(false), watch::Sender::new(false)],
            log,
        })
    }

    pub fn listening(&self, role: Role) -> &watch::Sender<bool> {
        match role {
            Role::Leader => &self.listening[0],
            Role::Follower => &self.listening[1],
        }
    }

    pub fn is_refused(&self, role: Role) -> bool {
        lock(&self.inner).is_refused(role)
    }

    /// Tells the listeners that a mode changed.
    pub fn modes_changed(&self) {
        self.modes.send_modify(|v| *v += 1);
    }

    /// Waits (up to `timeout`) until the listener of `role` matches its mode.
    pub async fn wait_listener(&self, role: Role, timeout: Duration) -> bool {
        let mut rx = self.listening(role).subscribe();
        let want_open = !self.is_refused(role);
        tokio::time::timeout(timeout, rx.wait_for(|open| *open == want_open))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    /// Records the end of a blackout hang started in `epoch`.
    pub fn end_hang(&self, role: Role, epoch: u64, ms: u64, client_closed: bool) {
        let mut inner = lock(&self.inner);
        if inner.epoch != epoch {
            return;
        }
        let c = inner.counters(role);
        c.hangs_open = c.hangs_open.saturating_sub(1);
        if client_closed {
            c.hangs_closed_ms.push(ms);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> Settings {
        Settings {
            host: "127.0.0.1".into(),
            leader_port: 0,
            follower_port: 0,
            control_port: 0,
            www: PathBuf::new(),
            pkg: PathBuf::new(),
            delay_ms: 0,
            slow_ms: 3000,
            flap_ms: 2000,
            jitter_seed: 7,
            leader_mode: LeaderMode::Up,
            follower_mode: FollowerMode::Up,
        }
    }

    #[test]
    fn a_posted_report_is_a_write_and_counted_apart() {
        let mut c = Counters::default();
        c.count("OPTIONS", REPORTS_PATH, Some("POST"));
        c.count("GET", REPORTS_PATH, None);
        c.count("POST", "/reports/x", None);
        assert_eq!(c.reports, 0);
        c.count("POST", REPORTS_PATH, None);
        assert_eq!((c.reports, c.writes, c.reads), (1, 2, 1));
    }

    #[test]
    fn counting_rules() {
        let mut c = Counters::default();
        c.count("GET", "/health", None);
        c.count("HEAD", "/health/slow", None);
        c.count("GET", "/api/pages", None);
        c.count("POST", "/api/notes", None);
        c.count("DELETE", "/whatever", None);
        c.count("OPTIONS", "/api/notes", Some("POST"));
        c.count("OPTIONS", "/api/pages", Some("GET"));
        c.count("OPTIONS", "/api/pages", None);
        assert_eq!((c.requests, c.probes, c.reads, c.writes), (5, 2, 1, 2));
        assert_eq!(c.reports, 0);
        assert_eq!((c.preflights, c.preflight_write_methods), (3, 1));
        assert_eq!(c.by_path.get("/health"), Some(&1));
        assert_eq!(c.by_path.get("/api/notes"), Some(&1));
        let mut i = Inner::new(&settings());
        i.leader = c;
        let j = i.stats_json();
        assert!(j.starts_with(r#"{"leader":{"mode":"up","requests":5,"probes":2,"reads":1,"writes":2,"preflights":3,"preflightWriteMethods":1,"byPath":{"/api/notes":1,"/api/pages":1,"/health":1,"/health/slow":1,"/whatever":1},"hangsOpen":0,"hangsClosedMs":[],"reports":0,"reportCookies":0,"notes":0},"follower":{"mode":"up","#), "{j}");
        i.leader
            .count_host("GET", "/health", Some("localhost:18081"));
        i.leader
            .count_host("GET", "/api/pages", Some("localhost:18081"));
        i.leader
            .count_host("OPTIONS", "/health", Some("127.0.0.1:18081"));
        assert_eq!(
            i.leader.probe_hosts.clone().into_iter().collect::<Vec<_>>(),
            [("localhost:18081".to_string(), 1)]
        );
    }

    #[test]
    fn jitter_schedule_is_seeded_and_within_its_ranges() {
        let t0 = Instant::now();
        let run = |seed| {
            let mut j = Jitter::new(seed, t0);
            let mut starts = Vec::new();
            for s in 0..600 {
                let now = t0 + Duration::from_millis(s * 100);
                if let Some(end) = j.hiccup_end(now) {
                    assert!(end > now && end - now <= Duration::from_millis(HICCUP_MS.1));
                    starts.push(j.start);
                }
                j.advance(now);
            }
            (j.done_ms, starts)
        };
        let (a, mut starts) = run(5);
        assert_eq!(a, run(5).0, "same seed, same hiccups");
        assert_ne!(a, run(6).0);
        // 60 s with gaps of at most 4 s and hiccups of at most 1.2 s: at least 11 hiccups.
        assert!(a.len() >= 11 && a.len() <= 34, "{a:?}");
        assert!(
            a.iter().all(|ms| (HICCUP_MS.0..=HICCUP_MS.1).contains(ms)),
            "{a:?}"
        );
        starts.dedup();
        for w in starts.windows(2) {
            assert!(w[1] - w[0] >= Duration::from_millis(GAP_MS.0 + HICCUP_MS.0));
        }
        // Only in mode jitter do requests wait.
        let mut i = Inner::new(&settings());
        assert_eq!(i.hiccup_end(Instant::now() + Duration::from_secs(30)), None);
    }

    #[test]
    fn flapping_phase_and_modes() {
        let mut i = Inner::new(&settings());
        i.leader_mode = LeaderMode::Flapping;
        i.flap_ms = 60_000;
        i.leader_since = Instant::now();
        assert_eq!(i.effective(Role::Leader), Effective::Up);
        i.flap_ms = 10;
        i.leader_since = Instant::now() - Duration::from_millis(15);
        assert_eq!(i.effective(Role::Leader), Effective::Down);
        i.flap_ms = 0; // must not divide by zero
        let _ = i.effective(Role::Leader);
        assert_eq!(LeaderMode::parse("wrong-body"), Some(LeaderMode::WrongBody));
        assert_eq!(LeaderMode::parse("app-down"), Some(LeaderMode::AppDown));
        assert_eq!(LeaderMode::parse("nope"), None);
        assert_eq!(FollowerMode::parse("down"), Some(FollowerMode::Down));
        assert_eq!(
            LeaderMode::valid_list(),
            "up, app-down, refused, blackout, slow, wrong-body, flapping, jitter, health-stall"
        );
        assert_eq!(
            i.state_json(),
            r#"{"leader":"flapping","follower":"up","slowMs":3000,"flapMs":0,"delayMs":0}"#
        );
    }
}

//! Shared simulator state: modes, counters, notes, connection registries, logging.

use crate::json;
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::io::Write as _;
use std::net::{Shutdown, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, SyncSender};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

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

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum LeaderMode {
    Up,
    AppDown,
    Refused,
    Blackout,
    Slow,
    WrongBody,
    Flapping,
}

impl LeaderMode {
    pub const ALL: [LeaderMode; 7] = [
        LeaderMode::Up,
        LeaderMode::AppDown,
        LeaderMode::Refused,
        LeaderMode::Blackout,
        LeaderMode::Slow,
        LeaderMode::WrongBody,
        LeaderMode::Flapping,
    ];
    pub fn name(self) -> &'static str {
        match self {
            LeaderMode::Up => "up",
            LeaderMode::AppDown => "app-down",
            LeaderMode::Refused => "refused",
            LeaderMode::Blackout => "blackout",
            LeaderMode::Slow => "slow",
            LeaderMode::WrongBody => "wrong-body",
            LeaderMode::Flapping => "flapping",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.name() == s)
    }
    pub fn valid_list() -> String {
        Self::ALL.map(Self::name).join(", ")
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum FollowerMode {
    Up,
    Refused,
    Down,
}

impl FollowerMode {
    pub const ALL: [FollowerMode; 3] =
        [FollowerMode::Up, FollowerMode::Refused, FollowerMode::Down];
    pub fn name(self) -> &'static str {
        match self {
            FollowerMode::Up => "up",
            FollowerMode::Refused => "refused",
            FollowerMode::Down => "down",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.name() == s)
    }
    pub fn valid_list() -> String {
        Self::ALL.map(Self::name).join(", ")
    }
}

/// What an API server does with one request, resolved at arrival time.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Effective {
    Up,
    /// Leader app-down (502) or follower down (503).
    Down,
    Blackout,
    Slow,
    WrongBody,
}

#[derive(Default, Debug, Clone)]
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

    pub fn to_json(&self, mode: &str, notes: usize) -> String {
        let mut by_path = String::from("{");
        for (i, (k, v)) in self.by_path.iter().enumerate() {
            if i > 0 {
                by_path.push(',');
            }
            let _ = write!(by_path, "{}:{}", json::s(k), v);
        }
        by_path.push('}');
        let closed: Vec<String> = self.hangs_closed_ms.iter().map(u64::to_string).collect();
        format!(
            "{{\"mode\":{},\"requests\":{},\"probes\":{},\"reads\":{},\"writes\":{},\"preflights\":{},\"preflightWriteMethods\":{},\"byPath\":{},\"hangsOpen\":{},\"hangsClosedMs\":[{}],\"notes\":{}}}",
            json::s(mode),
            self.requests,
            self.probes,
            self.reads,
            self.writes,
            self.preflights,
            self.preflight_write_methods,
            by_path,
            self.hangs_open,
            closed.join(","),
            notes
        )
    }
}

#[derive(Debug, Clone)]
pub struct Note {
    pub id: u64,
    pub text: String,
    pub client_id: String,
}

/// Command-line settings (the defaults `reset` returns to).
#[derive(Debug, Clone)]
pub struct Settings {
    pub host: String,
    pub page_port: u16,
    pub leader_port: u16,
    pub follower_port: u16,
    pub control_port: u16,
    pub www: PathBuf,
    pub pkg: PathBuf,
    pub delay_ms: u64,
    pub slow_ms: u64,
    pub flap_ms: u64,
    pub leader_mode: LeaderMode,
    pub follower_mode: FollowerMode,
    pub quiet: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            host: "127.0.0.1".into(),
            page_port: 8080,
            leader_port: 8081,
            follower_port: 8082,
            control_port: 8083,
            www: PathBuf::from("./www"),
            pkg: PathBuf::from("./pkg"),
            delay_ms: 0,
            slow_ms: 3000,
            flap_ms: 2000,
            leader_mode: LeaderMode::Up,
            follower_mode: FollowerMode::Up,
            quiet: false,
        }
    }
}

pub struct Inner {
    pub leader_mode: LeaderMode,
    pub leader_since: Instant,
    pub follower_mode: FollowerMode,
    pub slow_ms: u64,
    pub flap_ms: u64,
    pub delay_ms: u64,
    pub leader: Counters,
    pub follower: Counters,
    pub notes: Vec<Note>,
    pub next_note_id: u64,
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
            leader: Counters::default(),
            follower: Counters::default(),
            notes: Vec::new(),
            next_note_id: 1,
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
                LeaderMode::Up | LeaderMode::Refused => Effective::Up,
                LeaderMode::AppDown => Effective::Down,
                LeaderMode::Blackout => Effective::Blackout,
                LeaderMode::Slow => Effective::Slow,
                LeaderMode::WrongBody => Effective::WrongBody,
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
        format!(
            "{{\"leader\":{},\"follower\":{},\"slowMs\":{},\"flapMs\":{},\"delayMs\":{}}}",
            json::s(self.leader_mode.name()),
            json::s(self.follower_mode.name()),
            self.slow_ms,
            self.flap_ms,
            self.delay_ms
        )
    }

    pub fn stats_json(&self) -> String {
        format!(
            "{{\"leader\":{},\"follower\":{}}}",
            self.leader
                .to_json(self.leader_mode.name(), self.notes.len()),
            self.follower.to_json(self.follower_mode.name(), 0)
        )
    }

    pub fn reset(&mut self, s: &Settings) {
        let epoch = self.epoch + 1;
        *self = Inner::new(s);
        self.leader_mode = LeaderMode::Up;
        self.follower_mode = FollowerMode::Up;
        self.epoch = epoch;
    }
}

/// One live API connection, as seen by the registry.
struct ConnEntry {
    stream: TcpStream,
    killed: Arc<AtomicBool>,
}

/// The open connections of one API server, so "refused" can close them all.
#[derive(Default)]
pub struct Registry {
    conns: Mutex<HashMap<u64, ConnEntry>>,
    next: AtomicU64,
}

pub struct ConnHandle {
    pub id: u64,
    pub killed: Arc<AtomicBool>,
}

impl ConnHandle {
    pub fn is_killed(&self) -> bool {
        self.killed.load(Ordering::SeqCst)
    }
}

impl Registry {
    pub fn register(&self, stream: &TcpStream) -> Option<ConnHandle> {
        let clone = stream.try_clone().ok()?;
        let id = self.next.fetch_add(1, Ordering::SeqCst);
        let killed = Arc::new(AtomicBool::new(false));
        lock(&self.conns).insert(
            id,
            ConnEntry {
                stream: clone,
                killed: killed.clone(),
            },
        );
        Some(ConnHandle { id, killed })
    }

    pub fn unregister(&self, id: u64) {
        lock(&self.conns).remove(&id);
    }

    /// Marks every connection killed and shuts its socket down (blocked reads return 0).
    pub fn kill_all(&self) -> usize {
        let conns = lock(&self.conns);
        for c in conns.values() {
            c.killed.store(true, Ordering::SeqCst);
            let _ = c.stream.shutdown(Shutdown::Both);
        }
        conns.len()
    }
}

/// Listener state of one API server.
#[derive(Default)]
pub struct Net {
    pub registry: Registry,
    /// True while the listening socket is open.
    pub listening: AtomicBool,
}

/// Non-blocking logger: lines go through a bounded channel to a thread writing
/// stderr, so a reader that never drains our stderr cannot stall request threads.
pub struct Logger {
    tx: Option<SyncSender<String>>,
    quiet: bool,
    start: Instant,
}

impl Logger {
    pub fn new(quiet: bool) -> Self {
        let (tx, rx) = sync_channel::<String>(4096);
        let spawned = std::thread::Builder::new()
            .name("log".into())
            .spawn(move || {
                let stderr = std::io::stderr();
                for line in rx {
                    let mut e = stderr.lock();
                    let _ = writeln!(e, "{line}");
                }
            });
        Logger {
            tx: spawned.ok().map(|_| tx),
            quiet,
            start: Instant::now(),
        }
    }

    fn put(&self, msg: &str) {
        if let Some(tx) = &self.tx {
            let t = self.start.elapsed();
            let _ = tx.try_send(format!(
                "[{:>4}.{:03}] {msg}",
                t.as_secs(),
                t.subsec_millis()
            ));
        }
    }

    /// Per-request / informational lines (suppressed by --quiet).
    pub fn info(&self, msg: &str) {
        if !self.quiet {
            self.put(msg);
        }
    }

    /// Problems worth seeing even with --quiet.
    pub fn error(&self, msg: &str) {
        self.put(msg);
    }
}

pub struct Sim {
    pub settings: Settings,
    pub inner: Mutex<Inner>,
    pub leader_net: Net,
    pub follower_net: Net,
    pub log: Logger,
}

impl Sim {
    pub fn new(settings: Settings) -> Arc<Self> {
        let inner = Inner::new(&settings);
        let log = Logger::new(settings.quiet);
        Arc::new(Sim {
            settings,
            inner: Mutex::new(inner),
            leader_net: Net::default(),
            follower_net: Net::default(),
            log,
        })
    }

    pub fn net(&self, role: Role) -> &Net {
        match role {
            Role::Leader => &self.leader_net,
            Role::Follower => &self.follower_net,
        }
    }

    pub fn is_refused(&self, role: Role) -> bool {
        lock(&self.inner).is_refused(role)
    }

    /// Waits (up to `timeout`) until the listener of `role` matches its mode.
    /// Returns false on timeout.
    pub fn wait_listener(&self, role: Role, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            let want_open = !self.is_refused(role);
            if self.net(role).listening.load(Ordering::SeqCst) == want_open {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
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
        assert_eq!((c.preflights, c.preflight_write_methods), (3, 1));
        assert_eq!(c.by_path.get("/health"), Some(&1));
        assert_eq!(c.by_path.get("/api/notes"), Some(&1));
        let j = c.to_json("up", 0);
        assert!(j.contains("\"byPath\":{\"/api/notes\":1,\"/api/pages\":1,\"/health\":1,\"/health/slow\":1,\"/whatever\":1}"));
        assert!(crate::json::parse(&j).is_ok());
    }

    #[test]
    fn flapping_phase_and_modes() {
        let s = Settings::default();
        let mut i = Inner::new(&s);
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
        assert_eq!(LeaderMode::parse("nope"), None);
        assert_eq!(FollowerMode::parse("down"), Some(FollowerMode::Down));
        assert!(crate::json::parse(&i.stats_json()).is_ok());
        assert!(crate::json::parse(&i.state_json()).is_ok());
    }
}

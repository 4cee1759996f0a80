//! The verdict a client holds about the leader, and the snapshot it publishes.

/// Spec §2 states.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Unknown,
    Leader,
    Emergency,
    Offline,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Unknown => "unknown",
            State::Leader => "leader",
            State::Emergency => "emergency",
            State::Offline => "offline",
        }
    }

    pub fn parse(s: &str) -> Option<State> {
        match s {
            "unknown" => Some(State::Unknown),
            "leader" => Some(State::Leader),
            "emergency" => Some(State::Emergency),
            "offline" => Some(State::Offline),
            _ => None,
        }
    }
}

/// Where the current verdict came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Cache,
    Probe,
    Request,
    Peer,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Cache => "cache",
            Source::Probe => "probe",
            Source::Request => "request",
            Source::Peer => "peer",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Snapshot {
    pub state: State,
    /// Round trip of the last good leader probe, in ms.
    pub leader_latency_ms: Option<f64>,
    /// Epoch ms of the verdict.
    pub checked_at: Option<f64>,
    pub source: Source,
}

impl Snapshot {
    pub fn initial() -> Self {
        Snapshot {
            state: State::Unknown,
            leader_latency_ms: None,
            checked_at: None,
            source: Source::Probe,
        }
    }
}

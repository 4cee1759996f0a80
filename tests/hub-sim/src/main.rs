//! hub-sim: a local simulator of the company's leader (on-premise) and follower (AWS
//! replica) APIs, a static page server and a control API, for browser tests and demos
//! of the health-proxy failover library. std only.

mod api;
mod control;
mod http;
mod json;
mod page;
mod server;
mod state;

use state::{FollowerMode, LeaderMode, Role, Settings, Sim};
use std::io::Write;
use std::net::TcpListener;
use std::path::PathBuf;

const USAGE: &str = "\
hub-sim: local simulator of the leader / follower APIs, a page server and a control API

USAGE:
  hub-sim [serve] [--host 127.0.0.1] [--page-port 8080] [--leader-port 8081]
          [--follower-port 8082] [--control-port 8083] [--www DIR (./www)] [--pkg DIR (./pkg)]
          [--delay-ms N (0)] [--slow-ms N (3000)] [--flap-ms N (2000)]
          [--leader-mode MODE] [--follower-mode MODE] [--quiet]
  hub-sim set leader MODE [--ms N] [--control-port 8083] [--host 127.0.0.1]
  hub-sim set follower MODE [--control-port 8083] [--host 127.0.0.1]
  hub-sim set delay MS [--control-port 8083] [--host 127.0.0.1]
  hub-sim stats [--control-port 8083] [--host 127.0.0.1]
  hub-sim state [--control-port 8083] [--host 127.0.0.1]
  hub-sim reset [--control-port 8083] [--host 127.0.0.1]
  hub-sim --help

Leader modes:   up, app-down, refused, blackout, slow, wrong-body, flapping
Follower modes: up, refused, down
(--ms N with `set leader slow|flapping` sets slowMs / flapMs.)

Control API (on --control-port; GET or POST):
  /  (HTML panel)   /state   /stats   /reset   /leader/MODE[?ms=N]   /follower/MODE   /delay/MS

`serve` prints one line per server, then `ready`. Request logs go to stderr (--quiet: errors only).
";

fn out(s: &str) {
    let mut o = std::io::stdout().lock();
    let _ = writeln!(o, "{s}");
    let _ = o.flush();
}

fn err(s: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{s}");
}

enum Fail {
    /// Bad command line: message + usage hint, exit 2.
    Usage(String),
    /// Runtime failure, exit 1.
    Fatal(String),
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let code = match run(&args) {
        Ok(()) => 0,
        Err(Fail::Usage(m)) => {
            err(&format!("hub-sim: {m}\nRun `hub-sim --help` for usage."));
            2
        }
        Err(Fail::Fatal(m)) => {
            err(&format!("hub-sim: {m}"));
            1
        }
    };
    std::process::exit(code);
}

fn run(args: &[String]) -> Result<(), Fail> {
    if args.iter().any(|a| a == "--help" || a == "-h") || args.first().is_some_and(|a| a == "help")
    {
        out(USAGE.trim_end());
        return Ok(());
    }
    match args.first().map(String::as_str) {
        None => serve(&[]),
        Some("serve") => serve(&args[1..]),
        Some(a) if a.starts_with("--") => serve(args),
        Some("set") => client_cmd(&args[1..], Cmd::Set),
        Some("stats") => client_cmd(&args[1..], Cmd::Stats),
        Some("state") => client_cmd(&args[1..], Cmd::State),
        Some("reset") => client_cmd(&args[1..], Cmd::Reset),
        Some(other) => Err(Fail::Usage(format!("unknown command '{other}'"))),
    }
}

type Flags = Vec<(String, String)>;

/// Splits `--flag value` / `--flag=value` options from positional arguments.
/// `switches` are flags without a value, `valued` the flags that take one.
fn parse_flags(
    args: &[String],
    switches: &[&str],
    valued: &[&str],
) -> Result<(Flags, Vec<String>), Fail> {
    let mut flags = Vec::new();
    let mut positional = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        if let Some(name) = a.strip_prefix("--") {
            let key = name.split_once('=').map_or(name, |(k, _)| k);
            if !switches.contains(&key) && !valued.contains(&key) {
                return Err(Fail::Usage(format!("unknown option --{key}")));
            }
            if let Some((k, v)) = name.split_once('=') {
                flags.push((k.to_string(), v.to_string()));
            } else if switches.contains(&name) {
                flags.push((name.to_string(), String::new()));
            } else {
                let v = args
                    .get(i + 1)
                    .ok_or_else(|| Fail::Usage(format!("--{name} needs a value")))?;
                flags.push((name.to_string(), v.clone()));
                i += 1;
            }
        } else {
            positional.push(a.clone());
        }
        i += 1;
    }
    Ok((flags, positional))
}

fn num<T: std::str::FromStr>(flag: &str, v: &str) -> Result<T, Fail> {
    v.parse::<T>()
        .map_err(|_| Fail::Usage(format!("invalid value for --{flag}: '{v}'")))
}

fn url_host(host: &str) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host.to_string()
    }
}

fn serve(args: &[String]) -> Result<(), Fail> {
    let valued = [
        "host",
        "page-port",
        "leader-port",
        "follower-port",
        "control-port",
        "www",
        "pkg",
        "delay-ms",
        "slow-ms",
        "flap-ms",
        "leader-mode",
        "follower-mode",
    ];
    let (flags, positional) = parse_flags(args, &["quiet"], &valued)?;
    if let Some(p) = positional.first() {
        return Err(Fail::Usage(format!("unexpected argument '{p}'")));
    }
    let mut s = Settings::default();
    for (k, v) in &flags {
        match k.as_str() {
            "host" => s.host = v.clone(),
            "page-port" => s.page_port = num(k, v)?,
            "leader-port" => s.leader_port = num(k, v)?,
            "follower-port" => s.follower_port = num(k, v)?,
            "control-port" => s.control_port = num(k, v)?,
            "www" => s.www = PathBuf::from(v),
            "pkg" => s.pkg = PathBuf::from(v),
            "delay-ms" => s.delay_ms = num(k, v)?,
            "slow-ms" => s.slow_ms = num(k, v)?,
            "flap-ms" => s.flap_ms = num(k, v)?,
            "leader-mode" => {
                s.leader_mode = LeaderMode::parse(v).ok_or_else(|| {
                    Fail::Usage(format!(
                        "unknown leader mode '{v}'; valid: {}",
                        LeaderMode::valid_list()
                    ))
                })?
            }
            "follower-mode" => {
                s.follower_mode = FollowerMode::parse(v).ok_or_else(|| {
                    Fail::Usage(format!(
                        "unknown follower mode '{v}'; valid: {}",
                        FollowerMode::valid_list()
                    ))
                })?
            }
            "quiet" => s.quiet = true,
            other => return Err(Fail::Usage(format!("unknown option --{other}"))),
        }
    }

    let host = s.host.clone();
    let bind = |name: &str, port: u16| -> Result<(TcpListener, u16), Fail> {
        let l = TcpListener::bind((host.as_str(), port))
            .map_err(|e| Fail::Fatal(format!("cannot listen for {name} on {host}:{port}: {e}")))?;
        let actual = l.local_addr().map(|a| a.port()).unwrap_or(port);
        Ok((l, actual))
    };
    let (page_l, page_port) = bind("page", s.page_port)?;
    let (leader_l, leader_port) = bind("leader", s.leader_port)?;
    let (follower_l, follower_port) = bind("follower", s.follower_port)?;
    let (control_l, control_port) = bind("control", s.control_port)?;

    for (what, dir) in [("www", &s.www), ("pkg", &s.pkg)] {
        if !dir.is_dir() {
            err(&format!(
                "hub-sim: warning: --{what} directory {} does not exist (its files will 404)",
                dir.display()
            ));
        }
    }

    let sim = Sim::new(s);
    let spawn =
        |name: &str, f: Box<dyn FnOnce() + Send>| -> Result<std::thread::JoinHandle<()>, Fail> {
            std::thread::Builder::new()
                .name(name.to_string())
                .spawn(f)
                .map_err(|e| Fail::Fatal(format!("cannot start {name} thread: {e}")))
        };
    let mut threads = Vec::new();
    {
        let sim = sim.clone();
        threads.push(spawn(
            "page",
            Box::new(move || server::run(sim, "page", page_l, page::handle)),
        )?);
    }
    {
        let sim = sim.clone();
        threads.push(spawn(
            "leader",
            Box::new(move || api::run_acceptor(sim, Role::Leader, leader_l)),
        )?);
    }
    {
        let sim = sim.clone();
        threads.push(spawn(
            "follower",
            Box::new(move || api::run_acceptor(sim, Role::Follower, follower_l)),
        )?);
    }
    {
        let sim = sim.clone();
        threads.push(spawn(
            "control",
            Box::new(move || server::run(sim, "control", control_l, control::handle)),
        )?);
    }
    // If a mode starts as "refused", make sure the socket is closed before announcing readiness.
    for role in [Role::Leader, Role::Follower] {
        if !sim.wait_listener(role, std::time::Duration::from_secs(3)) {
            return Err(Fail::Fatal(format!(
                "{} listener did not start",
                role.name()
            )));
        }
    }

    let h = url_host(&host);
    out(&format!("page     http://{h}:{page_port}"));
    out(&format!("leader   http://{h}:{leader_port}"));
    out(&format!("follower http://{h}:{follower_port}"));
    out(&format!("control  http://{h}:{control_port}"));
    out("ready");

    for t in threads {
        let _ = t.join();
    }
    Err(Fail::Fatal("server threads stopped unexpectedly".into()))
}

enum Cmd {
    Set,
    Stats,
    State,
    Reset,
}

fn client_cmd(args: &[String], cmd: Cmd) -> Result<(), Fail> {
    let valued: &[&str] = if matches!(cmd, Cmd::Set) {
        &["host", "control-port", "ms"]
    } else {
        &["host", "control-port"]
    };
    let (flags, positional) = parse_flags(args, &[], valued)?;
    let mut host = "127.0.0.1".to_string();
    let mut port: u16 = 8083;
    let mut ms: Option<u64> = None;
    for (k, v) in &flags {
        match k.as_str() {
            "host" => host = v.clone(),
            "control-port" => port = num(k, v)?,
            "ms" if matches!(cmd, Cmd::Set) => ms = Some(num(k, v)?),
            other => return Err(Fail::Usage(format!("unknown option --{other}"))),
        }
    }
    let (method, target) = match cmd {
        Cmd::Stats | Cmd::State if !positional.is_empty() => {
            return Err(Fail::Usage(format!(
                "unexpected argument '{}'",
                positional[0]
            )))
        }
        Cmd::Reset if !positional.is_empty() => {
            return Err(Fail::Usage(format!(
                "unexpected argument '{}'",
                positional[0]
            )))
        }
        Cmd::Stats => ("GET", "/stats".to_string()),
        Cmd::State => ("GET", "/state".to_string()),
        Cmd::Reset => ("POST", "/reset".to_string()),
        Cmd::Set => {
            let [what, value] = positional.as_slice() else {
                return Err(Fail::Usage(
                    "usage: hub-sim set leader|follower MODE  or  hub-sim set delay MS".into(),
                ));
            };
            let mut t = match what.as_str() {
                "leader" | "follower" | "delay" => format!("/{what}/{value}"),
                other => {
                    return Err(Fail::Usage(format!(
                        "cannot set '{other}' (leader, follower or delay)"
                    )))
                }
            };
            if let Some(ms) = ms {
                t.push_str(&format!("?ms={ms}"));
            }
            ("POST", t)
        }
    };
    let resp = http::client_request(&host, port, method, &target).map_err(Fail::Fatal)?;
    if (200..300).contains(&resp.status) {
        out(resp.body.trim_end());
        Ok(())
    } else {
        Err(Fail::Fatal(format!(
            "{} {}: {}",
            resp.status,
            http::reason(resp.status),
            resp.body.trim_end()
        )))
    }
}

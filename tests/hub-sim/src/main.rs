//! hub-sim: a local simulator of the company's leader (on-premise) and follower (AWS
//! replica) APIs, a static page server and a control API, for browser tests and demos
//! of the health-proxy failover library.

mod api;
mod control;
mod log;
mod page;
mod serve;
mod state;

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use state::{FollowerMode, LeaderMode, Role, Settings, Sim};
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

const AFTER_HELP: &str = "\
Leader modes:   up, app-down, refused, blackout, slow, wrong-body, flapping, jitter, health-stall
                (jitter: healthy, but hiccups of 0.3-1.2 s every 1.5-4 s hold every request; seeded)
Follower modes: up, refused, down

Control API (on --control-port; GET or POST):
  /  (HTML panel)   /state   /stats   /reset   /leader/MODE[?ms=N]   /follower/MODE   /delay/MS   /lose/N
                  /allow-headers/LIST|any (the leader's preflights allow only LIST)
                  /reports (the outage reports the leader took)   /reports-fail/N (the next N answer 503)
API extras: /api/echo (any method: the request as received), /api/redirect/3XX?to=URL (the
leader redirects there; the follower echoes), POST /reports (the leader stores an outage
report, spec §11; /stats counts them per side)
The demo console (landing page beside the switches and live counters): PAGE/demo/

`serve` prints one line per server, then `ready`. Request logs go to stderr (--quiet: errors only).";

/// Local simulator of the leader / follower APIs, a page server and a control API.
#[derive(Parser)]
#[command(name = "hub-sim", after_help = AFTER_HELP, args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    cmd: Option<Cmd>,
    /// With no command: `serve` with these options.
    #[command(flatten)]
    serve: ServeArgs,
}

#[derive(Subcommand)]
enum Cmd {
    /// Start the page, leader, follower and control servers (the default).
    Serve(ServeArgs),
    /// Switch a running simulator: `set leader MODE [--ms N]`, `set follower MODE`, `set delay MS`.
    Set {
        what: SetWhat,
        value: String,
        /// With `set leader slow|flapping`: slowMs / flapMs.
        #[arg(long)]
        ms: Option<u64>,
        #[command(flatten)]
        to: ControlAddr,
    },
    /// Print the counters of a running simulator.
    Stats {
        #[command(flatten)]
        to: ControlAddr,
    },
    /// Print the modes and timings of a running simulator.
    State {
        #[command(flatten)]
        to: ControlAddr,
    },
    /// Back to leader and follower up, counters and notes cleared.
    Reset {
        #[command(flatten)]
        to: ControlAddr,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum SetWhat {
    Leader,
    Follower,
    Delay,
}

#[derive(Args)]
struct ControlAddr {
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    #[arg(long, default_value_t = 8083)]
    control_port: u16,
}

#[derive(Args)]
struct ServeArgs {
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    #[arg(long, default_value_t = 8080)]
    page_port: u16,
    #[arg(long, default_value_t = 8081)]
    leader_port: u16,
    #[arg(long, default_value_t = 8082)]
    follower_port: u16,
    #[arg(long, default_value_t = 8083)]
    control_port: u16,
    /// The landing page's directory.
    #[arg(long, default_value = "./www")]
    www: PathBuf,
    /// The package's directory, served under /pkg/.
    #[arg(long, default_value = "./pkg")]
    pkg: PathBuf,
    /// Added to every leader and follower answer.
    #[arg(long, default_value_t = 0)]
    delay_ms: u64,
    /// How long the leader takes to answer in mode `slow`.
    #[arg(long, default_value_t = 3000)]
    slow_ms: u64,
    /// How long each up / down phase lasts in mode `flapping`.
    #[arg(long, default_value_t = 2000)]
    flap_ms: u64,
    /// Seed of the hiccup schedule of mode `jitter` (the same seed, the same hiccups).
    #[arg(long, default_value_t = 1)]
    jitter_seed: u64,
    #[arg(long, value_enum, default_value_t = LeaderMode::Up)]
    leader_mode: LeaderMode,
    #[arg(long, value_enum, default_value_t = FollowerMode::Up)]
    follower_mode: FollowerMode,
    /// Log errors only, not every request.
    #[arg(long)]
    quiet: bool,
}

fn out(s: &str) {
    let mut o = std::io::stdout().lock();
    let _ = writeln!(o, "{s}");
    let _ = o.flush();
}

/// A host as it goes into a URL (IPv6 in brackets).
pub fn url_host(host: &str) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host.to_string()
    }
}

fn main() {
    // A repeated option takes its last value (the harnesses append to default argument lists).
    let matches = Cli::command()
        .args_override_self(true)
        .mut_subcommands(|c| c.args_override_self(true))
        .get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    // One thread serves everything: the work per request is tiny, and the waits (blackout,
    // slow, delay) are timers, not threads.
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => fail(&format!("cannot start the runtime: {e}")),
    };
    let result = runtime.block_on(async {
        match cli.cmd {
            None => serve(cli.serve).await,
            Some(Cmd::Serve(args)) => serve(args).await,
            Some(Cmd::Set {
                what,
                value,
                ms,
                to,
            }) => {
                let what = match what {
                    SetWhat::Leader => "leader",
                    SetWhat::Follower => "follower",
                    SetWhat::Delay => "delay",
                };
                let mut target = format!("/{what}/{value}");
                if let Some(ms) = ms {
                    target.push_str(&format!("?ms={ms}"));
                }
                client(&to, "POST", &target).await
            }
            Some(Cmd::Stats { to }) => client(&to, "GET", "/stats").await,
            Some(Cmd::State { to }) => client(&to, "GET", "/state").await,
            Some(Cmd::Reset { to }) => client(&to, "POST", "/reset").await,
        }
    });
    if let Err(m) = result {
        fail(&m);
    }
}

fn fail(msg: &str) -> ! {
    let _ = writeln!(std::io::stderr().lock(), "hub-sim: {msg}");
    std::process::exit(1);
}

async fn serve(a: ServeArgs) -> Result<(), String> {
    let host = a.host.clone();
    // Bound here, before anything runs, so a busy port is a clear error and exit 1.
    let bind = |name: &str, port: u16| -> Result<(tokio::net::TcpListener, u16), String> {
        let cannot = |e: std::io::Error| format!("cannot listen for {name} on {host}:{port}: {e}");
        let l = std::net::TcpListener::bind((host.as_str(), port)).map_err(cannot)?;
        l.set_nonblocking(true).map_err(cannot)?;
        let actual = l.local_addr().map_or(port, |a| a.port());
        Ok((
            tokio::net::TcpListener::from_std(l).map_err(cannot)?,
            actual,
        ))
    };
    let (page_l, page_port) = bind("page", a.page_port)?;
    let (leader_l, leader_port) = bind("leader", a.leader_port)?;
    let (follower_l, follower_port) = bind("follower", a.follower_port)?;
    let (control_l, control_port) = bind("control", a.control_port)?;
    let log = log::Logger::new(a.quiet);
    for (what, dir) in [("www", &a.www), ("pkg", &a.pkg)] {
        if !dir.is_dir() {
            log.error(&format!(
                "warning: --{what} directory {} does not exist (its files will 404)",
                dir.display()
            ));
        }
    }
    let sim = Sim::new(
        Settings {
            host: host.clone(),
            leader_port,
            follower_port,
            control_port,
            www: a.www,
            pkg: a.pkg,
            delay_ms: a.delay_ms,
            slow_ms: a.slow_ms,
            flap_ms: a.flap_ms,
            jitter_seed: a.jitter_seed,
            leader_mode: a.leader_mode,
            follower_mode: a.follower_mode,
        },
        log,
    );
    let servers = [
        tokio::spawn(serve::run(
            sim.clone(),
            "page",
            page_l,
            page::router(sim.clone()),
        )),
        tokio::spawn(serve::run(
            sim.clone(),
            "control",
            control_l,
            control::router(sim.clone()),
        )),
        tokio::spawn(serve::run_api(
            sim.clone(),
            Role::Leader,
            leader_l,
            api::router(sim.clone(), Role::Leader),
        )),
        tokio::spawn(serve::run_api(
            sim.clone(),
            Role::Follower,
            follower_l,
            api::router(sim.clone(), Role::Follower),
        )),
    ];
    // If a mode starts as "refused", its socket is closed before we announce readiness.
    for role in [Role::Leader, Role::Follower] {
        if !sim.wait_listener(role, Duration::from_secs(3)).await {
            return Err(format!("{} listener did not start", role.name()));
        }
    }
    let h = url_host(&host);
    out(&format!("page     http://{h}:{page_port}"));
    out(&format!("leader   http://{h}:{leader_port}"));
    out(&format!("follower http://{h}:{follower_port}"));
    out(&format!("control  http://{h}:{control_port}"));
    out("ready");
    for s in servers {
        let _ = s.await;
    }
    Err("server tasks stopped unexpectedly".into())
}

/// One request to the control API; prints the answer, or fails with it.
async fn client(to: &ControlAddr, method: &str, target: &str) -> Result<(), String> {
    let (host, port) = (to.host.as_str(), to.control_port);
    let stream = tokio::net::TcpStream::connect((host, port))
        .await
        .map_err(|e| format!("cannot connect to {host}:{port}: {e}"))?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(conn);
    let req = hyper::Request::builder()
        .method(method)
        .uri(target)
        .header(hyper::header::HOST, format!("{}:{port}", url_host(host)))
        .body(Empty::<Bytes>::new())
        .map_err(|e| e.to_string())?;
    let answer = async {
        let resp = sender.send_request(req).await?;
        let status = resp.status();
        let body = resp.into_body().collect().await?.to_bytes();
        Ok::<_, hyper::Error>((status, body))
    };
    let (status, body) = tokio::time::timeout(Duration::from_secs(30), answer)
        .await
        .map_err(|_| format!("no answer from {host}:{port} within 30 s"))?
        .map_err(|e| e.to_string())?;
    let body = String::from_utf8_lossy(&body);
    if status.is_success() {
        out(body.trim_end());
        Ok(())
    } else {
        Err(format!("{status}: {}", body.trim_end()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use state::ModeName;

    /// The help lists the modes by hand: they must be the ones clap parses.
    #[test]
    fn help_lists_the_modes_clap_parses() {
        let leader = format!("Leader modes:   {}\n", LeaderMode::valid_list());
        let follower = format!("Follower modes: {}\n", FollowerMode::valid_list());
        assert!(AFTER_HELP.starts_with(&leader), "{AFTER_HELP}");
        assert!(AFTER_HELP.contains(&follower), "{AFTER_HELP}");
    }
}

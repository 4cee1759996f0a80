//! Integration tests: start the real binary on free ports and talk raw HTTP to it.

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_hub-sim");

struct Sim {
    child: Child,
    page: u16,
    leader: u16,
    follower: u16,
    control: u16,
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_ports() -> [u16; 4] {
    // Hold all four at once so they are distinct, then release them for the sim.
    let ls: Vec<TcpListener> = (0..4)
        .map(|_| TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    let p: Vec<u16> = ls.iter().map(|l| l.local_addr().unwrap().port()).collect();
    [p[0], p[1], p[2], p[3]]
}

fn start(extra: &[&str]) -> Sim {
    for _attempt in 0..5 {
        let [page, leader, follower, control] = free_ports();
        let mut child = Command::new(BIN)
            .args([
                "serve",
                "--quiet",
                "--page-port",
                &page.to_string(),
                "--leader-port",
                &leader.to_string(),
                "--follower-port",
                &follower.to_string(),
                "--control-port",
                &control.to_string(),
            ])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn hub-sim");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel::<String>();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                // Keep draining stdout even if nobody listens any more.
                let _ = tx.send(line);
            }
        });
        let deadline = Instant::now() + Duration::from_secs(15);
        let mut lines = Vec::new();
        let mut ready = false;
        while Instant::now() < deadline {
            match rx.recv_timeout(Duration::from_millis(100)) {
                Ok(l) if l == "ready" => {
                    ready = true;
                    break;
                }
                Ok(l) => lines.push(l),
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    if let Ok(Some(_)) = child.try_wait() {
                        break; // exited (port race?) -> retry
                    }
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
        }
        if ready {
            assert!(
                lines.contains(&format!("leader   http://127.0.0.1:{leader}")),
                "{lines:?}"
            );
            assert!(
                lines.contains(&format!("follower http://127.0.0.1:{follower}")),
                "{lines:?}"
            );
            return Sim {
                child,
                page,
                leader,
                follower,
                control,
            };
        }
        let _ = child.kill();
        let _ = child.wait();
    }
    panic!("hub-sim did not become ready");
}

struct Resp {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Resp {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Reads one response framed by Content-Length (or none for 204/HEAD).
fn read_response(s: &mut TcpStream, head_only: bool) -> std::io::Result<Resp> {
    let mut buf = Vec::new();
    let mut b = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        if s.read(&mut b)? == 0 {
            return Err(std::io::Error::new(ErrorKind::UnexpectedEof, "eof in head"));
        }
        buf.push(b[0]);
    }
    let head = String::from_utf8(buf).unwrap();
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let len: usize = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .map(|(_, v)| v.parse().unwrap())
        .unwrap_or(0);
    let mut body = vec![0u8; if head_only { 0 } else { len }];
    s.read_exact(&mut body)?;
    Ok(Resp {
        status,
        headers,
        body: String::from_utf8(body).unwrap(),
    })
}

fn connect(port: u16) -> TcpStream {
    let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s
}

/// One request on a fresh connection. `extra` are additional header lines.
fn req(port: u16, method: &str, path: &str, extra: &[&str], body: &str) -> Resp {
    let mut s = connect(port);
    let mut r =
        format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n");
    for h in extra {
        r.push_str(h);
        r.push_str("\r\n");
    }
    if !body.is_empty() || method == "POST" || method == "PUT" {
        r.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    r.push_str("\r\n");
    r.push_str(body);
    s.write_all(r.as_bytes()).unwrap();
    read_response(&mut s, method == "HEAD").unwrap()
}

fn control(sim: &Sim, path: &str) -> String {
    let r = req(sim.control, "POST", path, &[], "");
    assert_eq!(r.status, 200, "{path}: {}", r.body);
    r.body
}

/// The `"leader":{...}` or `"follower":{...}` object of /stats.
fn stats_of(sim: &Sim, role: &str) -> String {
    let body = req(sim.control, "GET", "/stats", &[], "").body;
    let start = body.find(&format!("\"{role}\":{{")).unwrap();
    let rest = &body[start..];
    let end = rest.find('}').unwrap();
    // byPath is the only nested object; include everything up to "notes".
    let end = rest
        .find("\"notes\":")
        .map(|n| n + rest[n..].find([',', '}']).unwrap())
        .unwrap_or(end);
    rest[..end].to_string()
}

fn field(stats: &str, key: &str) -> u64 {
    let k = format!("\"{key}\":");
    let i = stats
        .find(&k)
        .unwrap_or_else(|| panic!("{key} missing in {stats}"))
        + k.len();
    stats[i..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .unwrap()
}

fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("timed out waiting for {what}");
}

#[test]
fn health_cors_and_preflight() {
    let sim = start(&[]);
    let r = req(
        sim.leader,
        "GET",
        "/health",
        &["Origin: http://127.0.0.1:9999"],
        "",
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.body, r#"{"status":"ok","role":"leader"}"#);
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("http://127.0.0.1:9999")
    );
    assert_eq!(r.header("vary"), Some("Origin"));
    assert_eq!(
        r.header("access-control-expose-headers"),
        Some("X-Served-By, X-Request-Count")
    );
    assert_eq!(r.header("x-served-by"), Some("leader"));
    assert_eq!(r.header("cache-control"), Some("no-store"));
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert!(r.header("access-control-allow-credentials").is_none());

    let r = req(sim.follower, "GET", "/health?x=1", &[], "");
    assert_eq!(r.status, 200);
    assert_eq!(r.body, r#"{"status":"ok","role":"follower"}"#);
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
    assert_eq!(r.header("x-served-by"), Some("follower"));

    let r = req(
        sim.leader,
        "OPTIONS",
        "/api/notes",
        &[
            "Origin: http://localhost:1",
            "Access-Control-Request-Method: POST",
            "Access-Control-Request-Headers: content-type,x-trace",
        ],
        "",
    );
    assert_eq!(r.status, 204);
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("http://localhost:1")
    );
    assert_eq!(
        r.header("access-control-allow-methods"),
        Some("GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS")
    );
    assert_eq!(
        r.header("access-control-allow-headers"),
        Some("content-type,x-trace")
    );
    assert_eq!(r.header("access-control-max-age"), Some("0"));
    let r = req(
        sim.leader,
        "OPTIONS",
        "/api/pages",
        &["Access-Control-Request-Method: GET"],
        "",
    );
    assert_eq!(
        r.header("access-control-allow-headers"),
        Some("content-type")
    );

    let r = req(sim.leader, "HEAD", "/api/pages", &[], "");
    assert_eq!(r.status, 200);
    assert!(
        r.header("content-length")
            .unwrap()
            .parse::<usize>()
            .unwrap()
            > 0
    );

    let l = stats_of(&sim, "leader");
    assert_eq!(field(&l, "preflights"), 2, "{l}");
    assert_eq!(field(&l, "preflightWriteMethods"), 1, "{l}");
    assert_eq!(field(&l, "probes"), 1, "{l}");
    assert_eq!(field(&l, "reads"), 1, "{l}");
    assert_eq!(field(&l, "requests"), 2, "{l}");
    assert!(
        l.contains(r#""byPath":{"/api/pages":1,"/health":1}"#),
        "{l}"
    );
    let f = stats_of(&sim, "follower");
    assert_eq!(field(&f, "probes"), 1, "{f}");

    // The control API answers with CORS too, and the panel is there.
    let r = req(sim.control, "GET", "/", &["Origin: http://x"], "");
    assert_eq!(r.status, 200);
    assert!(r.body.contains("<script src=\"/panel.js\"></script>"));
    assert_eq!(r.header("access-control-allow-origin"), Some("http://x"));
    // The page server answers (404 without a www dir, not a crash).
    let r = req(sim.page, "GET", "/", &[], "");
    assert_eq!(r.status, 404);
    assert!(r
        .header("content-security-policy")
        .unwrap()
        .contains("'wasm-unsafe-eval'"));
}

#[test]
fn app_down_gives_502_with_cors() {
    let sim = start(&[]);
    control(&sim, "/leader/app-down");
    let r = req(sim.leader, "GET", "/api/pages", &["Origin: http://o"], "");
    assert_eq!(r.status, 502);
    assert!(r.header("content-type").unwrap().starts_with("text/html"));
    assert!(r.body.contains("<h1>502 Bad Gateway</h1>") && r.body.contains("nginx"));
    assert_eq!(r.header("access-control-allow-origin"), Some("http://o"));
    // Preflights still answer normally.
    let r = req(
        sim.leader,
        "OPTIONS",
        "/api/notes",
        &["Access-Control-Request-Method: POST"],
        "",
    );
    assert_eq!(r.status, 204);
    // A write is counted even though it fails.
    assert_eq!(
        req(sim.leader, "POST", "/api/notes", &[], r#"{"text":"x"}"#).status,
        502
    );
    assert_eq!(field(&stats_of(&sim, "leader"), "writes"), 1);
    control(&sim, "/leader/wrong-body");
    let r = req(sim.leader, "GET", "/api/pages", &[], "");
    assert_eq!(r.status, 200);
    assert!(r.body.contains("CoffeeShop WiFi"));
    control(&sim, "/leader/up");
    assert_eq!(req(sim.leader, "GET", "/api/pages", &[], "").status, 200);
    // Follower down -> 503 with CORS.
    control(&sim, "/follower/down");
    let r = req(sim.follower, "GET", "/api/pages", &[], "");
    assert_eq!(r.status, 503);
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
    // Unknown mode -> 400 listing the valid ones.
    let r = req(sim.control, "POST", "/leader/sideways", &[], "");
    assert_eq!(r.status, 400);
    assert!(r.body.contains("app-down") && r.body.contains("flapping"));
}

#[test]
fn refused_closes_socket_and_recovers_on_same_port() {
    let sim = start(&[]);
    // An idle keep-alive connection opened while the leader was up.
    let mut idle = connect(sim.leader);
    idle.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let r = read_response(&mut idle, false).unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(r.header("connection"), Some("keep-alive"));

    let state = control(&sim, "/leader/refused");
    assert!(state.contains(r#""leader":"refused""#), "{state}");
    let e =
        TcpStream::connect(("127.0.0.1", sim.leader)).expect_err("leader must refuse connections");
    assert_eq!(e.kind(), ErrorKind::ConnectionRefused, "{e}");
    // The idle keep-alive connection was closed by the "host".
    idle.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    let mut b = [0u8; 16];
    match idle.read(&mut b) {
        Ok(0) => {}
        Ok(n) => panic!("unexpected {n} bytes on a refused connection"),
        Err(e) => assert!(
            !matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
            "not closed: {e}"
        ),
    }
    // The follower is unaffected.
    assert_eq!(req(sim.follower, "GET", "/health", &[], "").status, 200);

    control(&sim, "/leader/up");
    let r = req(sim.leader, "GET", "/health", &[], "");
    assert_eq!(r.status, 200);
    // Nothing arrived while refused.
    assert_eq!(field(&stats_of(&sim, "leader"), "requests"), 2);

    // Follower refused, too.
    control(&sim, "/follower/refused");
    let e = TcpStream::connect(("127.0.0.1", sim.follower)).expect_err("follower must refuse");
    assert_eq!(e.kind(), ErrorKind::ConnectionRefused);
    control(&sim, "/reset");
    assert_eq!(req(sim.follower, "GET", "/health", &[], "").status, 200);
}

#[test]
fn blackout_hang_is_tracked_until_client_closes() {
    let sim = start(&[]);
    control(&sim, "/leader/blackout");
    let mut s = connect(sim.leader);
    s.write_all(b"GET /api/pages HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    wait_until("hangsOpen == 1", || {
        field(&stats_of(&sim, "leader"), "hangsOpen") == 1
    });
    let l = stats_of(&sim, "leader");
    assert_eq!(field(&l, "reads"), 1, "{l}");
    assert!(l.contains(r#""hangsClosedMs":[]"#), "{l}");
    // No answer arrives.
    s.set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let mut b = [0u8; 16];
    let e = s.read(&mut b).expect_err("blackout must not answer");
    assert!(
        matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
        "{e}"
    );
    drop(s); // the client gives up
    wait_until("hang closed", || {
        field(&stats_of(&sim, "leader"), "hangsOpen") == 0
    });
    let l = stats_of(&sim, "leader");
    let i = l.find(r#""hangsClosedMs":["#).unwrap() + r#""hangsClosedMs":["#.len();
    let ms: u64 = l[i..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .unwrap();
    assert!((250..5000).contains(&ms), "{l}");
}

#[test]
fn follower_is_read_only_but_counts_writes() {
    let sim = start(&[]);
    let r = req(
        sim.follower,
        "POST",
        "/api/notes",
        &["Content-Type: application/json"],
        r#"{"text":"hi"}"#,
    );
    assert_eq!(r.status, 405);
    assert_eq!(r.body, r#"{"error":"read-only replica"}"#);
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
    let f = stats_of(&sim, "follower");
    assert_eq!(field(&f, "writes"), 1, "{f}");
    assert_eq!(field(&f, "requests"), 1, "{f}");
    assert_eq!(field(&stats_of(&sim, "leader"), "writes"), 0);
    assert_eq!(
        req(sim.follower, "GET", "/api/hub/links", &[], "").status,
        404
    );
    let r = req(sim.follower, "GET", "/api/pages/3", &[], "");
    assert!(
        r.body
            .starts_with(r#"{"servedBy":"follower","page":{"id":3,"#),
        "{}",
        r.body
    );
}

#[test]
fn notes_and_echo_on_leader() {
    let sim = start(&[]);
    let r = req(
        sim.leader,
        "POST",
        "/api/notes",
        &[],
        r#"{"clientId":"tab \"1\"","text":"first"}"#,
    );
    assert_eq!(
        (r.status, r.body.as_str()),
        (201, r#"{"servedBy":"leader","id":1}"#)
    );
    let r = req(
        sim.leader,
        "POST",
        "/api/notes",
        &[],
        r#"{"text":"second"}"#,
    );
    assert_eq!(r.body, r#"{"servedBy":"leader","id":2}"#);
    assert_eq!(
        req(sim.leader, "POST", "/api/notes", &[], "{nope").status,
        400
    );
    let r = req(sim.leader, "GET", "/api/notes", &[], "");
    assert_eq!(
        r.body,
        r#"{"servedBy":"leader","notes":[{"id":1,"text":"first","clientId":"tab \"1\""},{"id":2,"text":"second","clientId":""}]}"#
    );
    assert_eq!(field(&stats_of(&sim, "leader"), "notes"), 2);
    let r = req(
        sim.leader,
        "PATCH",
        "/api/echo?x=1",
        &["X-Thing: A b"],
        "payload",
    );
    assert_eq!(r.status, 200);
    assert!(
        r.body
            .contains(r#""method":"PATCH","path":"/api/echo?x=1""#),
        "{}",
        r.body
    );
    assert!(
        r.body.contains(r#""x-thing":"A b""#) && r.body.contains(r#""body":"payload""#),
        "{}",
        r.body
    );
    assert_eq!(
        req(sim.leader, "GET", "/nowhere", &[], "").body,
        r#"{"error":"not found"}"#
    );
    // A malformed request is answered 400 and does not take the server down.
    let mut s = connect(sim.leader);
    s.write_all(b"NOT HTTP AT ALL\r\n\r\n").unwrap();
    assert_eq!(read_response(&mut s, false).unwrap().status, 400);
    assert_eq!(req(sim.leader, "GET", "/health", &[], "").status, 200);
    // Reset clears notes and counters.
    control(&sim, "/reset");
    assert_eq!(
        req(sim.leader, "GET", "/api/notes", &[], "").body,
        r#"{"servedBy":"leader","notes":[]}"#
    );
}

#[test]
fn port_in_use_exits_nonzero() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let [page, _, follower, ctl] = free_ports();
    let out = Command::new(BIN)
        .args([
            "--quiet",
            "--leader-port",
            &port.to_string(),
            "--page-port",
            &page.to_string(),
        ])
        .args([
            "--follower-port",
            &follower.to_string(),
            "--control-port",
            &ctl.to_string(),
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot listen for leader"), "{err}");
}

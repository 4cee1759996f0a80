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

/// Parsed `/stats` of one side.
fn stats_json(sim: &Sim, role: &str) -> serde_json::Value {
    let body = req(sim.control, "GET", "/stats", &[], "").body;
    let all: serde_json::Value = serde_json::from_str(&body).unwrap();
    all[role].clone()
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
    // Credentials are allowed to the request's origin: tests see which requests carry
    // cookies (spec §4), which a browser only lets through with this header.
    assert_eq!(r.header("access-control-allow-credentials"), Some("true"));

    let r = req(sim.follower, "GET", "/health?x=1", &[], "");
    assert_eq!(r.status, 200);
    assert_eq!(r.body, r#"{"status":"ok","role":"follower"}"#);
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
    assert!(r.header("access-control-allow-credentials").is_none());
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

    let l = stats_json(&sim, "leader");
    assert_eq!(l["preflights"], 2, "{l}");
    assert_eq!(l["preflightWriteMethods"], 1, "{l}");
    assert_eq!(l["probes"], 1, "{l}");
    assert_eq!(l["reads"], 1, "{l}");
    assert_eq!(l["requests"], 2, "{l}");
    assert_eq!(
        l["byPath"],
        serde_json::json!({"/api/pages": 1, "/health": 1}),
        "{l}"
    );
    let f = stats_json(&sim, "follower");
    assert_eq!(f["probes"], 1, "{f}");

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
fn the_leader_redirects_on_request_and_its_preflights_can_refuse_a_header() {
    let sim = start(&[]);
    let to = format!("http://127.0.0.1:{}/api/echo", sim.follower);
    for code in ["302", "307"] {
        let r = req(
            sim.leader,
            "POST",
            &format!("/api/redirect/{code}?to={to}"),
            &[],
            "x",
        );
        assert_eq!(r.status.to_string(), code);
        assert_eq!(r.header("location"), Some(to.as_str()));
    }
    let r = req(sim.leader, "GET", "/api/redirect/200?to=/x", &[], "");
    assert_eq!(r.status, 400);
    // The follower echoes the same path, a write too.
    let r = req(
        sim.follower,
        "POST",
        "/api/redirect/302?to=/x",
        &["X-A: 1"],
        "hi",
    );
    assert_eq!(r.status, 200);
    assert!(r.body.contains(r#""x-a":"1""#), "{}", r.body);

    let preflight = |port| {
        req(
            port,
            "OPTIONS",
            "/api/notes",
            &[
                "Origin: http://o",
                "Access-Control-Request-Method: POST",
                "Access-Control-Request-Headers: content-type,idempotency-key",
            ],
            "",
        )
    };
    control(&sim, "/allow-headers/content-type");
    let r = preflight(sim.leader);
    assert_eq!(
        r.header("access-control-allow-headers"),
        Some("content-type")
    );
    // Only the leader's: the follower still allows what is asked.
    let r = preflight(sim.follower);
    assert_eq!(
        r.header("access-control-allow-headers"),
        Some("content-type,idempotency-key")
    );
    control(&sim, "/allow-headers/any");
    let r = preflight(sim.leader);
    assert_eq!(
        r.header("access-control-allow-headers"),
        Some("content-type,idempotency-key")
    );
    control(&sim, "/allow-headers/content-type");
    control(&sim, "/reset");
    let r = preflight(sim.leader);
    assert_eq!(
        r.header("access-control-allow-headers"),
        Some("content-type,idempotency-key")
    );
}

#[test]
fn app_down_gives_nginx_502_without_cors() {
    let sim = start(&[]);
    control(&sim, "/leader/app-down");
    let r = req(sim.leader, "GET", "/api/pages", &["Origin: http://o"], "");
    assert_eq!(r.status, 502);
    assert!(r.header("content-type").unwrap().starts_with("text/html"));
    assert!(r.body.contains("<h1>502 Bad Gateway</h1>") && r.body.contains("nginx"));
    // As NGINX sends its own error page: a browser cannot read it cross-origin.
    assert_eq!(r.header("access-control-allow-origin"), None);
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
    assert_eq!(stats_json(&sim, "leader")["writes"], 1);
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
    assert_eq!(r.header("connection"), None, "kept alive");

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
    assert_eq!(stats_json(&sim, "leader")["requests"], 2);

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
        stats_json(&sim, "leader")["hangsOpen"] == 1
    });
    let l = stats_json(&sim, "leader");
    assert_eq!(l["reads"], 1, "{l}");
    assert_eq!(l["hangsClosedMs"], serde_json::json!([]), "{l}");
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
        stats_json(&sim, "leader")["hangsOpen"] == 0
    });
    let l = stats_json(&sim, "leader");
    let ms = l["hangsClosedMs"][0].as_u64().unwrap();
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
    let f = stats_json(&sim, "follower");
    assert_eq!(f["writes"], 1, "{f}");
    assert_eq!(f["requests"], 1, "{f}");
    assert_eq!(stats_json(&sim, "leader")["writes"], 0);
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
fn the_leader_stores_outage_reports_and_the_follower_counts_any_it_gets() {
    let sim = start(&[]);
    let post = |port, body: &str| {
        req(
            port,
            "POST",
            "/reports",
            &[
                "Content-Type: application/json",
                "Origin: http://127.0.0.1:1",
            ],
            body,
        )
    };
    let r = post(sim.leader, r#"{"id":"a","durationMs":5}"#);
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(stats_json(&sim, "leader")["reportCookies"], 0);
    let with_cookie = ["Content-Type: application/json", "Cookie: s=1"];
    req(
        sim.leader,
        "POST",
        "/reports",
        &with_cookie,
        r#"{"id":"k"}"#,
    );
    assert_eq!(stats_json(&sim, "leader")["reportCookies"], 1);
    assert_eq!(r.body, r#"{"servedBy":"leader","stored":1}"#);
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("http://127.0.0.1:1")
    );
    // Not a report: refused, not stored.
    assert_eq!(post(sim.leader, r#"{"durationMs":5}"#).status, 400);
    assert_eq!(post(sim.leader, "[1]").status, 400);
    assert_eq!(post(sim.leader, "{").status, 400);
    // The next one fails, the one after is taken.
    control(&sim, "/reports-fail/1");
    assert_eq!(post(sim.leader, r#"{"id":"b"}"#).status, 503);
    assert_eq!(post(sim.leader, r#"{"id":"b"}"#).status, 201);
    let stored: serde_json::Value = serde_json::from_str(&control(&sim, "/reports")).unwrap();
    assert_eq!(
        stored,
        serde_json::json!([{"id":"a","durationMs":5},{"id":"k"},{"id":"b"}])
    );
    assert_eq!(
        stats_json(&sim, "leader")["reports"],
        7,
        "every POST that arrived"
    );
    // The follower, a read-only replica, refuses it, and the count shows it came.
    assert_eq!(stats_json(&sim, "follower")["reports"], 0);
    assert_eq!(post(sim.follower, r#"{"id":"c"}"#).status, 405);
    assert_eq!(stats_json(&sim, "follower")["reports"], 1);
    assert_eq!(
        req(sim.control, "GET", "/reports-fail/x", &[], "").status,
        400
    );
    control(&sim, "/reset");
    assert_eq!(control(&sim, "/reports"), "[]");
    assert_eq!(stats_json(&sim, "follower")["reports"], 0);
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
    assert_eq!(stats_json(&sim, "leader")["notes"], 2);
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

/// Asserts that nothing at all arrives on `s` for `ms` (the socket stays open).
fn assert_silent(s: &mut TcpStream, ms: u64) {
    s.set_read_timeout(Some(Duration::from_millis(ms))).unwrap();
    let mut b = [0u8; 64];
    match s.read(&mut b) {
        Ok(0) => panic!("connection closed instead of hanging"),
        Ok(n) => panic!("got an answer: {:?}", String::from_utf8_lossy(&b[..n])),
        Err(e) => assert!(
            matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
            "{e}"
        ),
    }
}

/// Asserts that the server closed `s` (EOF or reset), within 2 s.
fn assert_closed(s: &mut TcpStream) {
    s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    let mut b = [0u8; 64];
    match s.read(&mut b) {
        Ok(0) => {}
        Ok(n) => panic!("unexpected answer: {:?}", String::from_utf8_lossy(&b[..n])),
        Err(e) => assert!(
            !matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
            "not closed: {e}"
        ),
    }
}

#[test]
fn keep_alive_and_pipelining_answer_in_order_on_one_connection() {
    let sim = start(&[]);
    let mut s = connect(sim.leader);
    for i in 1..=3 {
        s.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        let r = read_response(&mut s, false).unwrap();
        assert_eq!(r.status, 200);
        assert_eq!(r.header("x-request-count"), Some(i.to_string().as_str()));
    }
    // Two requests in one write: the slow one is still answered first.
    s.write_all(
        b"GET /api/slow?ms=300 HTTP/1.1\r\nHost: x\r\n\r\nGET /api/pages/2 HTTP/1.1\r\nHost: x\r\n\r\n",
    )
    .unwrap();
    let first = read_response(&mut s, false).unwrap();
    let second = read_response(&mut s, false).unwrap();
    assert_eq!(first.body, r#"{"servedBy":"leader","sleptMs":300}"#);
    assert!(second.body.contains(r#""id":2"#), "{}", second.body);
    // HTTP/1.0 without keep-alive: answered, then closed.
    let mut s = connect(sim.leader);
    s.write_all(b"GET /health HTTP/1.0\r\n\r\n").unwrap();
    assert_eq!(read_response(&mut s, false).unwrap().status, 200);
    assert_closed(&mut s);
    // `Connection: close` likewise.
    let mut s = connect(sim.follower);
    s.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    assert_eq!(read_response(&mut s, false).unwrap().status, 200);
    assert_closed(&mut s);
}

#[test]
fn chunked_request_bodies_are_read() {
    let sim = start(&[]);
    let mut s = connect(sim.leader);
    s.write_all(
        b"POST /api/notes HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n\
          9\r\n{\"text\":\"\r\nb\r\nin chunks\"}\r\n0\r\n\r\n",
    )
    .unwrap();
    let r = read_response(&mut s, false).unwrap();
    assert_eq!(
        (r.status, r.body.as_str()),
        (201, r#"{"servedBy":"leader","id":1}"#)
    );
    // The same connection goes on after a chunked body, and the echo sees it whole.
    s.write_all(b"PUT /api/echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n")
        .unwrap();
    let r = read_response(&mut s, false).unwrap();
    let echo: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(echo["body"], "abcde");
    assert_eq!(echo["method"], "PUT");
    assert_eq!(echo["headers"]["transfer-encoding"], "chunked");
    let notes = req(sim.leader, "GET", "/api/notes", &[], "").body;
    assert_eq!(
        notes,
        r#"{"servedBy":"leader","notes":[{"id":1,"text":"in chunks","clientId":""}]}"#
    );
    assert_eq!(stats_json(&sim, "leader")["writes"], 2);
}

#[test]
fn blackout_accepts_and_never_answers_until_refused_closes_it() {
    let sim = start(&[]);
    control(&sim, "/leader/blackout");
    // The connection is accepted, the request (with a body) read and counted, and nothing comes back.
    let mut s = connect(sim.leader);
    s.write_all(
        b"POST /api/notes HTTP/1.1\r\nHost: x\r\nContent-Length: 12\r\n\r\n{\"text\":\"x\"}",
    )
    .unwrap();
    wait_until("hangsOpen == 1", || {
        stats_json(&sim, "leader")["hangsOpen"] == 1
    });
    assert_silent(&mut s, 1500);
    // Preflights and probes hang too.
    let mut p = connect(sim.leader);
    p.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    wait_until("hangsOpen == 2", || {
        stats_json(&sim, "leader")["hangsOpen"] == 2
    });
    let l = stats_json(&sim, "leader");
    assert_eq!(
        (l["writes"].as_u64(), l["probes"].as_u64()),
        (Some(1), Some(1))
    );
    // A client that half-closes has given up, like one that closes.
    p.shutdown(std::net::Shutdown::Write).unwrap();
    wait_until("one hang closed", || {
        stats_json(&sim, "leader")["hangsOpen"] == 1
    });
    assert_eq!(
        stats_json(&sim, "leader")["hangsClosedMs"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // The host goes away: the hanging connection is closed by us, not counted as a client giving up.
    control(&sim, "/leader/refused");
    assert_closed(&mut s);
    let l = stats_json(&sim, "leader");
    assert_eq!(l["hangsOpen"], 0, "{l}");
    assert_eq!(l["hangsClosedMs"].as_array().unwrap().len(), 1, "{l}");
    assert_eq!(l["notes"], 0, "a blackout write never lands: {l}");
}

#[test]
fn refused_refuses_connects_and_closes_requests_in_flight() {
    let sim = start(&["--leader-mode", "refused"]);
    // Refused from the start, before `ready` was printed.
    let e = TcpStream::connect(("127.0.0.1", sim.leader)).expect_err("refused from the start");
    assert_eq!(e.kind(), ErrorKind::ConnectionRefused, "{e}");
    control(&sim, "/leader/slow?ms=3000");
    // A request in the middle of a slow answer is cut off when the host goes.
    let mut s = connect(sim.leader);
    s.write_all(b"GET /api/pages HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    wait_until("the read arrived", || {
        stats_json(&sim, "leader")["reads"] == 1
    });
    let t = Instant::now();
    control(&sim, "/leader/refused");
    assert_closed(&mut s);
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    for _ in 0..20 {
        let e = TcpStream::connect(("127.0.0.1", sim.leader)).expect_err("refused");
        assert_eq!(e.kind(), ErrorKind::ConnectionRefused, "{e}");
    }
    // Back up on the same port; the follower never stopped.
    control(&sim, "/leader/up");
    assert_eq!(req(sim.leader, "GET", "/health", &[], "").status, 200);
    assert_eq!(stats_json(&sim, "leader")["requests"], 2);
}

#[test]
fn slow_delay_and_flapping_timings() {
    let sim = start(&["--slow-ms", "400", "--flap-ms", "300"]);
    control(&sim, "/leader/slow");
    let t = Instant::now();
    assert_eq!(req(sim.leader, "GET", "/health", &[], "").status, 200);
    assert!(
        t.elapsed() >= Duration::from_millis(400),
        "{:?}",
        t.elapsed()
    );
    // Preflights are not slowed.
    let t = Instant::now();
    assert_eq!(
        req(sim.leader, "OPTIONS", "/api/notes", &[], "").status,
        204
    );
    assert!(
        t.elapsed() < Duration::from_millis(300),
        "{:?}",
        t.elapsed()
    );
    control(&sim, "/leader/up");
    control(&sim, "/delay/250");
    let t = Instant::now();
    assert_eq!(req(sim.follower, "GET", "/health", &[], "").status, 200);
    assert!(
        t.elapsed() >= Duration::from_millis(250),
        "{:?}",
        t.elapsed()
    );
    control(&sim, "/delay/0");
    // Flapping alternates 200 and 502 every flapMs.
    control(&sim, "/leader/flapping?ms=300");
    let mut seen = std::collections::BTreeSet::new();
    let t = Instant::now();
    while t.elapsed() < Duration::from_millis(1500) {
        seen.insert(req(sim.leader, "GET", "/health", &[], "").status);
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(seen.into_iter().collect::<Vec<_>>(), vec![200, 502]);
    let state: serde_json::Value = serde_json::from_str(&control(&sim, "/state")).unwrap();
    assert_eq!(state["flapMs"], 300);
    assert_eq!(state["slowMs"], 400);
}

#[test]
fn control_api_methods_and_errors() {
    let sim = start(&[]);
    // GET mutates too (a person can drive it from the address bar); HEAD never does.
    assert_eq!(
        req(sim.control, "GET", "/follower/down", &[], "").status,
        200
    );
    let r = req(sim.control, "HEAD", "/follower/up", &[], "");
    assert_eq!(r.status, 405);
    assert_eq!(stats_json(&sim, "follower")["mode"], "down");
    let r = req(sim.control, "DELETE", "/reset", &[], "");
    assert_eq!(r.status, 405);
    assert_eq!(r.header("allow"), Some("GET, HEAD, POST, PUT, OPTIONS"));
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
    assert_eq!(req(sim.control, "POST", "/stats/", &[], "").status, 200);
    assert_eq!(req(sim.control, "POST", "/delay/soon", &[], "").status, 400);
    assert_eq!(
        req(sim.control, "POST", "/leader/slow?ms=x", &[], "").status,
        400
    );
    let r = req(sim.control, "GET", "/nothing", &[], "");
    assert_eq!(
        (r.status, r.body.as_str()),
        (404, r#"{"error":"not found"}"#)
    );
    assert_eq!(r.header("x-served-by"), Some("control"));
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let r = req(
        sim.control,
        "OPTIONS",
        "/reset",
        &["Origin: http://p", "Access-Control-Request-Method: POST"],
        "",
    );
    assert_eq!(r.status, 204);
    assert_eq!(r.header("access-control-allow-origin"), Some("http://p"));
    let r = req(sim.control, "GET", "/panel.js", &[], "");
    assert!(r
        .header("content-type")
        .unwrap()
        .starts_with("text/javascript"));
}

#[test]
fn command_line_drives_a_running_simulator() {
    let sim = start(&[]);
    let port = sim.control.to_string();
    let run = |args: &[&str]| {
        let out = Command::new(BIN)
            .args(args)
            .args(["--control-port", &port])
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, out, _) = run(&["set", "leader", "slow", "--ms", "1234"]);
    assert_eq!(code, Some(0));
    assert_eq!(
        out.trim(),
        r#"{"leader":"slow","follower":"up","slowMs":1234,"flapMs":2000,"delayMs":0}"#
    );
    let (code, out, _) = run(&["set", "follower", "down"]);
    assert_eq!(code, Some(0), "{out}");
    let (code, out, _) = run(&["set", "delay", "5"]);
    assert!(code == Some(0) && out.contains(r#""delayMs":5"#), "{out}");
    let (code, out, _) = run(&["stats"]);
    assert_eq!(code, Some(0));
    let stats: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (
            stats["leader"]["mode"].as_str(),
            stats["follower"]["mode"].as_str()
        ),
        (Some("slow"), Some("down"))
    );
    let (code, _, err) = run(&["set", "leader", "sideways"]);
    assert_eq!(code, Some(1));
    assert!(
        err.contains("400 Bad Request") && err.contains("wrong-body"),
        "{err}"
    );
    let (code, out, _) = run(&["reset"]);
    assert!(
        code == Some(0) && out.contains(r#""leader":"up","follower":"up""#),
        "{out}"
    );
    let (code, out, _) = run(&["state"]);
    assert!(code == Some(0) && out.contains(r#""delayMs":0"#), "{out}");
    // A repeated option takes its last value, as the harnesses rely on.
    let (code, out, _) = run(&["state", "--control-port", "1"]);
    assert!(code == Some(0) && out.contains(r#""leader":"up""#), "{out}");
    // Usage errors exit 2.
    let out = Command::new(BIN)
        .args(["set", "sideways", "up"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = Command::new(BIN)
        .args(["--leader-mode", "sideways"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = Command::new(BIN).arg("--help").output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("wrong-body"));
}

/// A fresh directory under the system temp dir.
fn temp_dir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("hub-sim-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn page_server_files_csp_and_demo_console() {
    let www = temp_dir("www");
    let pkg = temp_dir("pkg");
    std::fs::write(
        www.join("index.html"),
        "<!doctype html><title>landing</title>",
    )
    .unwrap();
    std::fs::write(www.join("app.js"), "export {};").unwrap();
    std::fs::write(pkg.join("x_bg.wasm"), b"\0asm\x01\0\0\0").unwrap();
    // `--www` twice: the last one counts (bench.mjs appends its own to the harness's).
    let sim = start(&[
        "--www",
        "/nonexistent",
        "--www",
        www.to_str().unwrap(),
        "--pkg",
        pkg.to_str().unwrap(),
    ]);
    let csp = |r: &Resp| r.header("content-security-policy").map(str::to_string);
    let r = req(sim.page, "GET", "/", &[], "");
    assert_eq!(
        (r.status, r.body.as_str()),
        (200, "<!doctype html><title>landing</title>")
    );
    assert!(csp(&r).unwrap().contains("style-src 'self'"));
    assert_eq!(r.header("cache-control"), Some("no-cache"));
    assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
    assert!(
        r.header("access-control-allow-origin").is_none(),
        "the page server has no CORS"
    );
    let r = req(sim.page, "GET", "/app.js", &[], "");
    assert!(r
        .header("content-type")
        .unwrap()
        .starts_with("text/javascript"));
    // gzip for a browser that asks, as a static host does; identity for one that does not.
    std::fs::write(pkg.join("big_bg.wasm"), vec![b'a'; 4096]).unwrap();
    let r = req(
        sim.page,
        "GET",
        "/pkg/big_bg.wasm",
        &["Accept-Encoding: gzip, br"],
        "",
    );
    assert_eq!(r.header("content-encoding"), Some("gzip"));
    assert!(csp(&r).is_some());
    let r = req(sim.page, "GET", "/pkg/big_bg.wasm", &[], "");
    assert_eq!((r.header("content-encoding"), r.body.len()), (None, 4096));
    let r = req(sim.page, "GET", "/pkg/x_bg.wasm", &[], "");
    assert_eq!(r.header("content-type"), Some("application/wasm"));
    assert_eq!(r.body.len(), 8);
    let r = req(sim.page, "GET", "/pkg/../index.html", &[], "");
    assert_eq!(r.status, 404, "no escape from the roots");
    let r = req(sim.page, "GET", "/missing.js", &[], "");
    assert_eq!(r.status, 404);
    assert!(csp(&r).is_some());
    let r = req(sim.page, "POST", "/", &[], "");
    assert_eq!((r.status, r.header("allow")), (405, Some("GET, HEAD")));
    // The demo console: same origin as the landing page, so it can frame it; no inline code.
    let r = req(sim.page, "GET", "/demo/", &[], "");
    assert_eq!(r.status, 200);
    assert!(csp(&r).unwrap().starts_with("default-src 'self'"));
    let html = r.body;
    assert!(
        html.contains(r#"<iframe"#) && html.contains(r#"src="/""#),
        "{html}"
    );
    assert!(
        html.contains(r#"<script src="/demo/console.js" type="module"></script>"#),
        "{html}"
    );
    let handler = html.split(" on").skip(1).any(|rest| {
        let name: String = rest.chars().take_while(char::is_ascii_lowercase).collect();
        !name.is_empty() && rest[name.len()..].starts_with('=')
    });
    assert!(
        !html.contains("<style") && !html.contains(" style=") && !handler,
        "inline style or handler: {html}"
    );
    assert_eq!(html.matches("<script").count(), 1, "{html}");
    assert_eq!(req(sim.page, "GET", "/demo", &[], "").status, 308);
    for asset in ["/demo/console.js", "/demo/console.css"] {
        let r = req(sim.page, "GET", asset, &[], "");
        assert!(r.status == 200 && r.body.len() > 100, "{asset}");
    }
    let r = req(sim.page, "GET", "/demo/servers.json", &[], "");
    let servers: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(
        servers["control"],
        format!("http://127.0.0.1:{}", sim.control)
    );
    assert_eq!(
        servers["follower"],
        format!("http://127.0.0.1:{}", sim.follower)
    );
    drop(sim);
    for d in [www, pkg] {
        let _ = std::fs::remove_dir_all(d);
    }
}

/// GETs `path` from `port` on a raw socket and reads until 800 ms pass with nothing more:
/// what came (a 200 head with CORS, checked here) before the body stalled; panics if the
/// connection closes instead.
fn stalled_head(port: u16, path: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\nOrigin: http://o\r\n\r\n").as_bytes())
        .unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_millis(800)))
        .unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        match s.read(&mut buf) {
            Ok(0) => panic!("the connection closed: the body must stall, not end"),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(_) => break, // the read timed out: nothing more came
        }
    }
    let text = String::from_utf8_lossy(&got).into_owned();
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(
        text.to_ascii_lowercase()
            .contains("access-control-allow-origin: http://o"),
        "{text}"
    );
    text
}

#[test]
fn a_stalled_body_sends_its_head_and_a_part_then_nothing() {
    let sim = start(&[]);
    let text = stalled_head(sim.leader, "/api/stall");
    assert!(text.contains("\"part\":\""), "{text}");
}

#[test]
fn a_big_body_has_the_size_asked_for_within_its_cap() {
    let sim = start(&[]);
    let r = req(sim.leader, "GET", "/api/big?kb=3", &[], "");
    assert_eq!(r.status, 200);
    assert_eq!(r.body.len(), 3 * 1024);
    assert!(r.body.bytes().all(|b| b == b'x'));
    assert_eq!(req(sim.follower, "GET", "/api/big", &[], "").body.len(), 0);
}

#[test]
fn moved_redirects_to_the_pages_with_cors() {
    let sim = start(&[]);
    let r = req(sim.leader, "GET", "/api/moved", &["Origin: http://o"], "");
    assert_eq!(r.status, 302);
    let head = format!("{:?}", r.headers).to_ascii_lowercase();
    assert!(
        head.contains("location") && head.contains("/api/pages"),
        "{head}"
    );
    assert!(head.contains("access-control-allow-origin"), "{head}");
}

#[test]
fn an_application_status_answers_writes_too() {
    let sim = start(&[]);
    let r = req(
        sim.leader,
        "POST",
        "/api/status/503",
        &["Content-Type: text/plain"],
        "x",
    );
    assert_eq!(r.status, 503);
}

#[test]
fn listed_files_download_from_either_side() {
    let sim = start(&[]);
    for (port, who) in [(sim.leader, "leader"), (sim.follower, "follower")] {
        let r = req(
            port,
            "GET",
            "/files/handbook.pdf",
            &["Origin: http://o"],
            "",
        );
        assert_eq!(r.status, 200);
        assert!(r
            .header("content-disposition")
            .unwrap()
            .starts_with("attachment"));
        assert!(r.body.contains(who), "{}", r.body);
    }
    assert_eq!(
        req(sim.leader, "GET", "/files/nope.txt", &[], "").status,
        404
    );
}

#[test]
fn jitter_holds_requests_during_seeded_hiccups_and_reports_them() {
    let sim = start(&["--jitter-seed", "3"]);
    control(&sim, "/leader/jitter");
    // The first hiccup starts within 4 s and lasts at most 1.2 s: 6 s of requests meet one.
    let t = Instant::now();
    let mut held = Vec::new();
    let mut fast = 0;
    while t.elapsed() < Duration::from_millis(6000) {
        let sent = Instant::now();
        let r = req(sim.leader, "GET", "/health", &[], "");
        assert_eq!(r.status, 200, "a hiccup delays, it never fails");
        let ms = sent.elapsed().as_millis();
        if ms >= 100 {
            held.push(ms);
        } else {
            fast += 1;
        }
        std::thread::sleep(Duration::from_millis(40));
    }
    assert!(!held.is_empty() && fast > 20, "held {held:?}, fast {fast}");
    assert!(held.iter().all(|&ms| ms <= 1300), "{held:?}");
    let stats: serde_json::Value =
        serde_json::from_str(&req(sim.control, "GET", "/stats", &[], "").body).unwrap();
    let done = stats["jitter"]["hiccupsMs"].as_array().unwrap().clone();
    assert!(!done.is_empty(), "{stats}");
    assert_eq!(stats["jitter"]["hiccups"], done.len());
    for ms in &done {
        let ms = ms.as_u64().unwrap();
        assert!((300..=1200).contains(&ms), "{ms}");
    }
    // The longest wait is no longer than the longest hiccup (plus scheduling slack).
    let longest = done
        .iter()
        .filter_map(serde_json::Value::as_u64)
        .max()
        .unwrap();
    assert!(
        held.iter().max().copied().unwrap() <= u128::from(longest) + 100,
        "{held:?} vs {done:?}"
    );
    // The follower never hiccups.
    let sent = Instant::now();
    assert_eq!(req(sim.follower, "GET", "/health", &[], "").status, 200);
    assert!(sent.elapsed() < Duration::from_millis(100));
    let r = req(sim.control, "POST", "/leader/sideways", &[], "");
    assert!(r.body.contains("jitter"), "{}", r.body);
}

#[test]
fn health_stall_sends_the_health_head_then_nothing_and_leaves_the_api_up() {
    let sim = start(&[]);
    control(&sim, "/leader/health-stall");
    let text = stalled_head(sim.leader, "/health");
    assert!(text.contains("{\"status\":"), "{text}");
    assert!(!text.contains("\"ok\""), "{text}");
    let pages = req(sim.leader, "GET", "/api/pages", &[], "");
    assert_eq!(pages.status, 200, "the API stays up");
}

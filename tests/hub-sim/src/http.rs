//! A small HTTP/1.1 implementation: request parsing (Content-Length bodies only),
//! response serialisation, and a tiny blocking client for the `set`/`stats`/`reset`
//! subcommands.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

pub const MAX_HEAD: usize = 64 * 1024;
pub const MAX_BODY: usize = 16 * 1024 * 1024;

#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    /// The request target as sent, e.g. `/api/echo?x=1`.
    pub target: String,
    /// The target without the query string.
    pub path: String,
    /// The query string without `?` (empty if none).
    pub query: String,
    /// `HTTP/1.1` or `HTTP/1.0`.
    pub version: String,
    /// Headers in arrival order, names as sent.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    /// First header with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Value of a query parameter (no percent-decoding).
    pub fn query_param(&self, name: &str) -> Option<&str> {
        self.query.split('&').find_map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (k == name).then_some(v)
        })
    }

    /// Whether the connection may be reused after answering this request.
    pub fn keep_alive(&self) -> bool {
        let conn = self.header("connection").unwrap_or("").to_ascii_lowercase();
        let has = |t: &str| conn.split(',').any(|x| x.trim() == t);
        if self.version == "HTTP/1.0" {
            has("keep-alive")
        } else {
            !has("close")
        }
    }

    pub fn is_head(&self) -> bool {
        self.method == "HEAD"
    }
}

#[derive(Debug)]
pub enum ReadError {
    /// The peer closed (or the socket failed) between requests: just close.
    Closed,
    /// Idle keep-alive timeout between requests: just close.
    Idle,
    /// Malformed / unsupported request: answer with this status and close.
    Bad(u16, String),
    /// I/O error or EOF in the middle of a request.
    Io(String),
}

/// Returns (end of head content, start of body), searching from `from`.
/// Accepts CRLFCRLF or LFLF as the end of the head.
fn find_head_end_from(buf: &[u8], from: usize) -> Option<(usize, usize)> {
    let tail = buf.get(from..)?;
    let crlf = tail
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|p| (from + p, from + p + 4));
    let lf = tail
        .windows(2)
        .position(|w| w == b"\n\n")
        .map(|p| (from + p, from + p + 2));
    match (crlf, lf) {
        (Some(a), Some(b)) => Some(if a.0 <= b.0 { a } else { b }),
        (a, b) => a.or(b),
    }
}

fn find_head_end(buf: &[u8]) -> Option<(usize, usize)> {
    find_head_end_from(buf, 0)
}

/// Parses the request line and headers (everything before the blank line).
pub fn parse_head(head: &[u8]) -> Result<Request, ReadError> {
    let bad = |m: &str| ReadError::Bad(400, m.to_string());
    let text = std::str::from_utf8(head).map_err(|_| bad("request head is not UTF-8"))?;
    let mut lines = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    let first = lines.next().ok_or_else(|| bad("empty request"))?;
    let mut parts = first.split(' ').filter(|p| !p.is_empty());
    let (method, target, version) = match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(m), Some(t), Some(v), None) => (m, t, v),
        _ => return Err(bad("malformed request line")),
    };
    if method.is_empty()
        || !method
            .bytes()
            .all(|b| b.is_ascii_alphabetic() || b == b'-' || b == b'_')
    {
        return Err(bad("malformed method"));
    }
    if version != "HTTP/1.1" && version != "HTTP/1.0" {
        return Err(ReadError::Bad(
            505,
            "only HTTP/1.0 and HTTP/1.1 are supported".into(),
        ));
    }
    // Absolute-form targets (proxies) are reduced to their path.
    let target = if let Some(rest) = target
        .strip_prefix("http://")
        .or_else(|| target.strip_prefix("https://"))
    {
        match rest.find('/') {
            Some(i) => &rest[i..],
            None => "/",
        }
    } else {
        target
    };
    if !(target.starts_with('/') || (method == "OPTIONS" && target == "*")) {
        return Err(bad("request target must start with '/'"));
    }
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let path = path.split_once('#').map_or(path, |(p, _)| p);
    let mut headers = Vec::new();
    for line in lines {
        if line.is_empty() {
            continue;
        }
        let (k, v) = line
            .split_once(':')
            .ok_or_else(|| bad("malformed header line"))?;
        if k.is_empty() || k.contains(' ') || k.contains('\t') {
            return Err(bad("malformed header name"));
        }
        headers.push((k.to_string(), v.trim().to_string()));
    }
    Ok(Request {
        method: method.to_string(),
        target: target.to_string(),
        path: path.to_string(),
        query: query.to_string(),
        version: version.to_string(),
        headers,
        body: Vec::new(),
    })
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

/// Reads one request from `stream`. `buf` holds bytes already received (for
/// pipelining) and keeps any bytes after this request.
/// Returns `Ok(None)` if the peer closed cleanly before sending anything.
pub fn read_request<S: Read + Write>(
    stream: &mut S,
    buf: &mut Vec<u8>,
) -> Result<Option<Request>, ReadError> {
    let mut tmp = [0u8; 8192];
    let mut scanned = 0usize; // bytes of `buf` already known not to contain the head end
    let (head_end, body_start) = loop {
        if let Some(pos) = find_head_end_from(buf, scanned) {
            break pos;
        }
        scanned = buf.len().saturating_sub(3);
        if buf.len() > MAX_HEAD {
            return Err(ReadError::Bad(431, "request head too large".into()));
        }
        match stream.read(&mut tmp) {
            Ok(0) if buf.iter().all(|b| b.is_ascii_whitespace()) => return Ok(None),
            Ok(0) => return Err(ReadError::Io("connection closed mid-request".into())),
            Ok(n) => {
                buf.extend_from_slice(&tmp[..n]);
                // Tolerate stray CRLFs between requests (RFC 9112 section 2.2).
                let lead = buf
                    .iter()
                    .take_while(|b| **b == b'\r' || **b == b'\n')
                    .count();
                if lead > 0 {
                    buf.drain(..lead);
                    scanned = 0;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) if is_timeout(&e) && buf.is_empty() => return Err(ReadError::Idle),
            Err(e) if is_timeout(&e) => {
                return Err(ReadError::Io("timed out reading request head".into()))
            }
            Err(_) if buf.is_empty() => return Err(ReadError::Closed),
            Err(e) => return Err(ReadError::Io(e.to_string())),
        }
    };
    if head_end > MAX_HEAD {
        return Err(ReadError::Bad(431, "request head too large".into()));
    }
    let mut req = parse_head(&buf[..head_end])?;
    if let Some(te) = req.header("transfer-encoding") {
        if !te.eq_ignore_ascii_case("identity") {
            return Err(ReadError::Bad(
                411,
                "chunked request bodies are not supported; send Content-Length".into(),
            ));
        }
    }
    let len = match req.header("content-length") {
        None => 0usize,
        Some(v) => v
            .trim()
            .parse::<usize>()
            .map_err(|_| ReadError::Bad(400, "invalid Content-Length".into()))?,
    };
    if len > MAX_BODY {
        return Err(ReadError::Bad(
            413,
            format!("body larger than {MAX_BODY} bytes"),
        ));
    }
    let total = body_start.saturating_add(len);
    if buf.len() < total
        && req
            .header("expect")
            .is_some_and(|e| e.eq_ignore_ascii_case("100-continue"))
        && req.version == "HTTP/1.1"
    {
        stream
            .write_all(b"HTTP/1.1 100 Continue\r\n\r\n")
            .map_err(|e| ReadError::Io(e.to_string()))?;
    }
    while buf.len() < total {
        match stream.read(&mut tmp) {
            Ok(0) => return Err(ReadError::Io("connection closed mid-body".into())),
            Ok(n) => buf.extend_from_slice(&tmp[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(ReadError::Io(format!("reading body: {e}"))),
        }
    }
    req.body = buf
        .get(body_start..total)
        .map(<[u8]>::to_vec)
        .unwrap_or_default();
    buf.drain(..total.min(buf.len()));
    Ok(Some(req))
}

pub fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        411 => "Length Required",
        413 => "Content Too Large",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        505 => "HTTP Version Not Supported",
        _ => "Unknown",
    }
}

#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn new(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Self {
        let mut r = Response {
            status,
            headers: Vec::new(),
            body: body.into(),
        };
        if !content_type.is_empty() {
            r.set("Content-Type", content_type);
        }
        r
    }

    pub fn json(status: u16, body: impl Into<Vec<u8>>) -> Self {
        Self::new(status, "application/json", body)
    }

    pub fn text(status: u16, body: &str) -> Self {
        Self::new(status, "text/plain; charset=utf-8", format!("{body}\n"))
    }

    pub fn empty(status: u16) -> Self {
        Self::new(status, "", Vec::new())
    }

    /// Sets (replacing) a header.
    pub fn set(&mut self, name: &str, value: impl Into<String>) -> &mut Self {
        self.headers.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
        self.headers.push((name.to_string(), value.into()));
        self
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Serialises the response. `head_only` omits the body (HEAD) but keeps Content-Length.
    pub fn to_bytes(&self, head_only: bool, close: bool) -> Vec<u8> {
        let mut out = Vec::with_capacity(256 + self.body.len());
        out.extend_from_slice(
            format!("HTTP/1.1 {} {}\r\n", self.status, reason(self.status)).as_bytes(),
        );
        for (k, v) in &self.headers {
            // Never let a header value break the framing.
            let v: String = v.chars().filter(|c| *c != '\r' && *c != '\n').collect();
            out.extend_from_slice(format!("{k}: {v}\r\n").as_bytes());
        }
        let no_body_status = self.status == 204 || self.status == 304 || self.status < 200;
        if !no_body_status {
            out.extend_from_slice(format!("Content-Length: {}\r\n", self.body.len()).as_bytes());
        }
        if close {
            out.extend_from_slice(b"Connection: close\r\n");
        } else {
            out.extend_from_slice(b"Connection: keep-alive\r\n");
        }
        out.extend_from_slice(b"\r\n");
        if !head_only && !no_body_status {
            out.extend_from_slice(&self.body);
        }
        out
    }
}

/// Writes a response; errors are returned for the caller to log.
pub fn send<W: Write>(w: &mut W, resp: &Response, head_only: bool, close: bool) -> io::Result<()> {
    w.write_all(&resp.to_bytes(head_only, close))?;
    w.flush()
}

/// Result of a simple client request.
pub struct ClientResponse {
    pub status: u16,
    pub body: String,
}

/// Minimal blocking HTTP/1.1 client (Connection: close, Content-Length or EOF framing).
pub fn client_request(
    host: &str,
    port: u16,
    method: &str,
    target: &str,
) -> Result<ClientResponse, String> {
    let mut s = TcpStream::connect((host, port))
        .map_err(|e| format!("cannot connect to {host}:{port}: {e}"))?;
    let _ = s.set_read_timeout(Some(Duration::from_secs(30)));
    let req = format!(
        "{method} {target} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    s.write_all(req.as_bytes()).map_err(|e| e.to_string())?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).map_err(|e| e.to_string())?;
    let (end, start) = find_head_end(&raw).ok_or("malformed response (no header end)")?;
    let head = String::from_utf8_lossy(&raw[..end]).to_string();
    let mut lines = head.split('\n').map(|l| l.trim_end_matches('\r'));
    let status_line = lines.next().unwrap_or("");
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(|| format!("malformed status line: {status_line}"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let mut body = raw.get(start..).unwrap_or_default().to_vec();
    if let Some(len) = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse::<usize>().ok())
    {
        body.truncate(len);
    }
    Ok(ClientResponse {
        status,
        body: String::from_utf8_lossy(&body).to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    /// In-memory duplex stream: reads from `input`, collects writes.
    struct Mock {
        input: Cursor<Vec<u8>>,
        output: Vec<u8>,
    }
    impl Mock {
        fn new(data: &[u8]) -> Self {
            Mock {
                input: Cursor::new(data.to_vec()),
                output: Vec::new(),
            }
        }
    }
    impl Read for Mock {
        fn read(&mut self, b: &mut [u8]) -> io::Result<usize> {
            // Return at most 7 bytes at a time to exercise incremental parsing.
            let n = b.len().min(7);
            self.input.read(&mut b[..n])
        }
    }
    impl Write for Mock {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            self.output.write(b)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn parses_pipelined_requests_with_bodies() {
        let raw = b"POST /api/notes?x=1&y HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nContent-Length: 4\r\n\r\nabcdGET /health HTTP/1.1\r\nConnection: close\r\n\r\n";
        let mut m = Mock::new(raw);
        let mut buf = Vec::new();
        let r1 = read_request(&mut m, &mut buf).unwrap().unwrap();
        assert_eq!(r1.method, "POST");
        assert_eq!(r1.path, "/api/notes");
        assert_eq!(r1.query, "x=1&y");
        assert_eq!(r1.target, "/api/notes?x=1&y");
        assert_eq!(r1.query_param("x"), Some("1"));
        assert_eq!(r1.query_param("y"), Some(""));
        assert_eq!(r1.query_param("z"), None);
        assert_eq!(r1.header("CONTENT-TYPE"), Some("application/json"));
        assert_eq!(r1.body, b"abcd");
        assert!(r1.keep_alive());
        let r2 = read_request(&mut m, &mut buf).unwrap().unwrap();
        assert_eq!(r2.method, "GET");
        assert_eq!(r2.path, "/health");
        assert!(!r2.keep_alive());
        assert!(read_request(&mut m, &mut buf).unwrap().is_none());
    }

    #[test]
    fn rejects_bad_requests() {
        let cases: &[(&[u8], u16)] = &[
            (b"GARBAGE\r\n\r\n", 400),
            (b"GET / HTTP/2.0\r\n\r\n", 505),
            (b"GET nopath HTTP/1.1\r\n\r\n", 400),
            (
                b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
                411,
            ),
            (b"POST / HTTP/1.1\r\nContent-Length: x\r\n\r\n", 400),
            (
                b"POST / HTTP/1.1\r\nContent-Length: 99999999999\r\n\r\n",
                413,
            ),
            (b"GET / HTTP/1.1\r\nno colon here\r\n\r\n", 400),
        ];
        for (raw, want) in cases {
            let mut buf = Vec::new();
            match read_request(&mut Mock::new(raw), &mut buf) {
                Err(ReadError::Bad(s, _)) => {
                    assert_eq!(s, *want, "{}", String::from_utf8_lossy(raw))
                }
                other => panic!("{:?} for {}", other, String::from_utf8_lossy(raw)),
            }
        }
        let mut huge = b"GET / HTTP/1.1\r\nX: ".to_vec();
        huge.extend(vec![b'a'; MAX_HEAD + 10]);
        assert!(matches!(
            read_request(&mut Mock::new(&huge), &mut Vec::new()),
            Err(ReadError::Bad(431, _))
        ));
        // Truncated body.
        let r = read_request(
            &mut Mock::new(b"POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc"),
            &mut Vec::new(),
        );
        assert!(matches!(r, Err(ReadError::Io(_))));
    }

    #[test]
    fn http10_and_expect_continue() {
        let mut m = Mock::new(b"GET / HTTP/1.0\n\n");
        let r = read_request(&mut m, &mut Vec::new()).unwrap().unwrap();
        assert!(!r.keep_alive());
        let mut m = Mock::new(b"PUT /x HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 20\r\n\r\n0123456789abcdefghij");
        let mut buf = Vec::new();
        // The mock delivers 7 bytes per read, so the body is not buffered yet when the head completes.
        let r = read_request(&mut m, &mut buf).unwrap().unwrap();
        assert_eq!(r.body, b"0123456789abcdefghij");
        assert_eq!(m.output, b"HTTP/1.1 100 Continue\r\n\r\n");
    }

    #[test]
    fn serialises_responses() {
        let mut r = Response::json(200, "{}");
        r.set("X-A", "1").set("x-a", "2\r\nInjected: yes");
        let s = String::from_utf8(r.to_bytes(false, false)).unwrap();
        assert!(s.starts_with("HTTP/1.1 200 OK\r\n"));
        assert!(s.contains("x-a: 2Injected: yes\r\n"));
        assert!(!s.contains("X-A: 1"));
        assert!(s.contains("Content-Length: 2\r\n"));
        assert!(s.ends_with("\r\n\r\n{}"));
        let h = String::from_utf8(r.to_bytes(true, true)).unwrap();
        assert!(
            h.contains("Content-Length: 2\r\n")
                && h.contains("Connection: close")
                && h.ends_with("\r\n\r\n")
        );
        let e = String::from_utf8(Response::empty(204).to_bytes(false, false)).unwrap();
        assert!(!e.contains("Content-Length"));
    }
}

//! The static page server: `/pkg/...` from `--pkg`, everything else from `--www`.

use crate::http::{Request, Response};
use crate::state::Sim;
use std::path::{Path, PathBuf};

pub const CSP: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; connect-src 'self' http://127.0.0.1:* http://localhost:*; img-src 'self' data:; style-src 'self'";

pub fn content_type(path: &Path) -> &'static str {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    match ext.as_str() {
        "html" | "htm" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "wasm" => "application/wasm",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// Maps a URL path to a file path, or None if it tries to escape the roots.
pub fn resolve(www: &Path, pkg: &Path, url_path: &str) -> Option<PathBuf> {
    let (root, rest) = match url_path.strip_prefix("/pkg/") {
        Some(rest) => (pkg, rest),
        None if url_path == "/pkg" => (pkg, ""),
        None => (www, url_path.trim_start_matches('/')),
    };
    let mut out = root.to_path_buf();
    for seg in rest.split('/') {
        if seg == ".." || seg.contains('\\') || seg.contains('\0') {
            return None;
        }
        if seg.is_empty() || seg == "." {
            continue;
        }
        out.push(seg);
    }
    if rest.is_empty() || rest.ends_with('/') {
        out.push("index.html");
    }
    Some(out)
}

fn with_headers(mut r: Response) -> Response {
    r.set("Content-Security-Policy", CSP);
    r.set("Cache-Control", "no-cache");
    r.set("X-Content-Type-Options", "nosniff");
    r
}

pub fn handle(sim: &Sim, req: &Request) -> Response {
    if req.method != "GET" && req.method != "HEAD" {
        let mut r = Response::text(405, "method not allowed");
        r.set("Allow", "GET, HEAD");
        return with_headers(r);
    }
    if req.path.split('/').any(|s| s == "..") {
        return with_headers(Response::text(400, "path must not contain '..'"));
    }
    let Some(mut file) = resolve(&sim.settings.www, &sim.settings.pkg, &req.path) else {
        return with_headers(Response::text(400, "bad path"));
    };
    if file.is_dir() {
        file.push("index.html");
    }
    match std::fs::read(&file) {
        Ok(bytes) => with_headers(Response::new(200, content_type(&file), bytes)),
        Err(e) => {
            if e.kind() != std::io::ErrorKind::NotFound {
                sim.log.info(&format!("page: {}: {e}", file.display()));
            }
            with_headers(Response::text(404, "not found"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_paths() {
        let (w, p) = (Path::new("/w"), Path::new("/p"));
        assert_eq!(resolve(w, p, "/"), Some(PathBuf::from("/w/index.html")));
        assert_eq!(resolve(w, p, "/a/b.js"), Some(PathBuf::from("/w/a/b.js")));
        assert_eq!(
            resolve(w, p, "/sub/"),
            Some(PathBuf::from("/w/sub/index.html"))
        );
        assert_eq!(
            resolve(w, p, "/pkg/x_bg.wasm"),
            Some(PathBuf::from("/p/x_bg.wasm"))
        );
        assert_eq!(resolve(w, p, "/pkgs/x"), Some(PathBuf::from("/w/pkgs/x")));
        assert_eq!(
            resolve(w, p, "//etc/passwd"),
            Some(PathBuf::from("/w/etc/passwd"))
        );
        assert_eq!(resolve(w, p, "/../etc/passwd"), None);
        assert_eq!(resolve(w, p, "/pkg/../../x"), None);
        assert_eq!(
            content_type(Path::new("a.mjs")),
            "text/javascript; charset=utf-8"
        );
        assert_eq!(content_type(Path::new("a.WASM")), "application/wasm");
    }
}

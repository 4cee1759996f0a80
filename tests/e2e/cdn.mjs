// A static host that behaves like S3 behind CloudFront, for the benchmark's slow-link
// section: objects are uploaded with their metadata (Content-Type, Content-Encoding,
// Cache-Control, as `aws s3 cp` stores them) and served with it; an object stored without
// an encoding is compressed on the fly only if its type is on CloudFront's list (the
// "Serve compressed files" page of the CloudFront guide: no application/wasm); every
// object has an ETag and answers If-None-Match with 304, as S3 does.
import { createHash } from "node:crypto";
import { createServer } from "node:http";
import { brotliCompressSync, constants, gzipSync } from "node:zlib";

// The types of CloudFront's list a site of ours serves (the list has more: fonts, XML, …).
const COMPRESSIBLE = new Set([
  "application/javascript", "application/json", "application/x-javascript", "application/xml",
  "image/svg+xml", "text/css", "text/csv", "text/html", "text/javascript", "text/plain", "text/xml",
]);

export const TYPES = { html: "text/html", js: "text/javascript", css: "text/css", wasm: "application/wasm", json: "application/json", svg: "image/svg+xml" };

/** Starts the host on `port`; `objects` maps a key ("index.html") to { body, type, encoding?, cacheControl? }. */
export function startCdn(port, objects = new Map(), extraHeaders = {}) {
  const edge = new Map(); // the edge's compressed copies, per key and encoding
  const stats = { requests: 0, notModified: 0, bytes: 0 };
  const server = createServer((req, res) => {
    stats.requests++;
    const key = decodeURIComponent(new URL(req.url, "http://cdn").pathname.slice(1)) || "index.html";
    const object = objects.get(key);
    if (!object) {
      res.writeHead(403, { "Content-Type": "application/xml" }); // S3 answers 403 for a missing key without ListBucket
      return res.end("<Error><Code>AccessDenied</Code></Error>");
    }
    const etag = `"${createHash("md5").update(object.body).digest("hex")}"`;
    const headers = { "Content-Type": object.type, ETag: etag, Vary: "Accept-Encoding", ...extraHeaders };
    if (object.cacheControl) headers["Cache-Control"] = object.cacheControl;
    if (req.headers["if-none-match"] === etag) {
      stats.notModified++;
      res.writeHead(304, headers);
      return res.end();
    }
    let body = object.body;
    if (object.encoding) headers["Content-Encoding"] = object.encoding; // served as stored, whatever was asked
    else if (COMPRESSIBLE.has(object.type) && body.length >= 1000) {
      const accept = String(req.headers["accept-encoding"] ?? "");
      const enc = /\bbr\b/.test(accept) ? "br" : /\bgzip\b/.test(accept) ? "gzip" : null;
      if (enc) {
        const id = `${enc} ${key}`;
        if (!edge.has(id)) {
          // An edge compresses fast, not hard: nothing like brotli 11 or gzip -9.
          edge.set(id, enc === "br" ? brotliCompressSync(body, { params: { [constants.BROTLI_PARAM_QUALITY]: 5 } }) : gzipSync(body, { level: 6 }));
        }
        body = edge.get(id);
        headers["Content-Encoding"] = enc;
      }
    }
    headers["Content-Length"] = body.length;
    stats.bytes += body.length;
    res.writeHead(200, headers);
    res.end(req.method === "HEAD" ? undefined : body);
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve({
      objects,
      stats,
      stop: () => new Promise((r) => { server.close(r); server.closeAllConnections(); }),
    }));
  });
}

// A static host that behaves like S3 behind CloudFront, for the benchmark's slow-link
// section: objects are uploaded with their metadata (Content-Type, Content-Encoding,
// Cache-Control, as `aws s3 cp` stores them) and served with it; an object stored without
// an encoding is compressed on the fly only if its type is on CloudFront's list (below:
// no application/wasm); every object has an ETag and answers If-None-Match with 304, as
// S3 does.
import { createHash } from "node:crypto";
import { createServer } from "node:http";
import { brotliCompressSync, constants, gzipSync } from "node:zlib";

// CloudFront's list, whole, as "File types that CloudFront compresses" gives it:
// https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/ServingCompressedFiles.html#compressed-content-cloudfront-file-types
// (the text: awsdocs/amazon-cloudfront-developer-guide, doc_source/ServingCompressedFiles.md
// at 1674b70b1a29d63b34cdbc885c08ea8a1e9efecc). No application/wasm. Matched on the media
// type, without parameters ("text/html; charset=utf-8" is text/html); bodies of 1,000 to
// 10,000,000 bytes only, as the same page says.
const COMPRESSIBLE = new Set([
  "application/dash+xml", "application/eot", "application/font", "application/font-sfnt",
  "application/javascript", "application/json", "application/opentype", "application/otf",
  "application/pkcs7-mime", "application/protobuf", "application/rss+xml", "application/truetype",
  "application/ttf", "application/vnd.apple.mpegurl", "application/vnd.ms-fontobject",
  "application/xhtml+xml", "application/xml", "application/x-font-opentype",
  "application/x-font-truetype", "application/x-font-ttf", "application/x-httpd-cgi",
  "application/x-javascript", "application/x-mpegurl", "application/x-opentype", "application/x-otf",
  "application/x-perl", "application/x-ttf", "font/eot", "font/opentype", "font/otf", "font/ttf",
  "image/svg+xml", "text/css", "text/csv", "text/html", "text/javascript", "text/js", "text/plain",
  "text/richtext", "text/tab-separated-values", "text/xml", "text/x-component", "text/x-java-source",
  "text/x-script", "vnd.apple.mpegurl",
]);
const compressible = (type, size) =>
  COMPRESSIBLE.has(String(type).split(";")[0].trim().toLowerCase()) && size >= 1000 && size <= 10_000_000;

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
    else if (compressible(object.type, body.length)) {
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

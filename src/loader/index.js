// health-proxy's loader (spec §4, "When the package cannot start"): resolves with a
// HealthProxy, or, when the wasm cannot be fetched, compiled or instantiated, with a
// leader-only stand-in having the same members, so the application never goes down with
// the package. Hand-written, shipped as is in pkg/ (health_proxy.js stays the one import).
import init, { HealthProxy } from "./health_proxy.js";

export async function load(config, options) {
  const wasm = options?.wasm ?? new URL("health_proxy_bg.wasm", import.meta.url);
  // The config may be a promise (config.json on its way): the wasm loads meanwhile.
  const loading = start(wasm).catch(explain);
  config = await config;
  const cause = await loading;
  // A config the real proxy refuses is the application's error: it rejects, as the
  // constructor throws.
  if (!cause) return new HealthProxy(config);
  const direct = new DirectProxy(config, cause);
  console.error(
    `health-proxy: automatic failover is unavailable on this page; every request goes to the leader (${direct.leader}). ${cause}`,
  );
  return direct;
}

/** Nothing when the module is ready, else what went wrong and what fixes it. */
async function start(wasm) {
  if (typeof WebAssembly !== "object") {
    return "Cause: this browser has no WebAssembly (or it is turned off). Fix: none on the server; use a browser with WebAssembly for automatic failover.";
  }
  let source = wasm;
  if (typeof wasm === "string" || wasm instanceof URL) {
    source = await fetch(wasm);
    if (!source.ok) {
      return `Cause: the package's wasm (${source.url || wasm}) answered HTTP ${source.status}. Fix: deploy the package's files (pkg/, health_proxy_bg.wasm) with the page.`;
    }
  }
  // A Response served as text/plain still works: the glue falls back to compiling its bytes.
  await init({ module_or_path: source });
}

function explain(e) {
  const text = `${e?.name ?? "Error"}: ${e?.message ?? e}`;
  if (/content.security|\bCSP\b|unsafe-eval/i.test(text) || e?.name === "EvalError") {
    return `Cause: ${text}. Fix: add 'wasm-unsafe-eval' to script-src in the page's Content-Security-Policy.`;
  }
  if (e?.name === "CompileError" || e?.name === "LinkError") {
    return `Cause: ${text}. Fix: serve the health_proxy_bg.wasm built with this health_proxy.js, unaltered.`;
  }
  return `Cause: ${text}. Fix: check that the page can fetch the package's wasm (health_proxy_bg.wasm; CSP connect-src).`;
}

function failure(code, message) {
  const e = new Error(message);
  e.name = "HealthProxyError";
  e.code = code;
  if (code === "OUTCOME_UNKNOWN") e.idempotencyKey = null;
  return e;
}

// A base as the proxy keeps it: lowercase scheme and authority, no trailing "/".
function base(field, value) {
  const url = typeof value === "string" && /^https?:\/\/[^/?#@\\\s]+(\/[^?#\\\s]*)?$/i.exec(value);
  if (!url) throw failure("INVALID_CONFIG", `${field} must be an absolute http(s) URL with no query or fragment`);
  const end = url[0].length - (url[1] ?? "").length;
  return value.slice(0, end).toLowerCase() + (url[1] ?? "").replace(/\/+$/, "");
}

// The part of `url` after `b`, when `url` lies under it (its scheme and authority in any case).
function under(url, b) {
  const slash = b.indexOf("/", b.indexOf("//") + 2);
  const head = slash < 0 ? b.length : slash;
  if (url.slice(0, head).toLowerCase() !== b.slice(0, head) || !url.startsWith(b.slice(head), head)) return null;
  const rest = url.slice(b.length);
  return rest === "" || "/?#".includes(rest[0]) ? rest : null;
}

/** The leader-only stand-in: state `direct`, snapshots with source `fallback`. */
export class DirectProxy {
  #bases;
  #followers;
  #routes;
  #timeoutMs;
  constructor(config, cause) {
    try {
      this.leader = base("leader", config.leader);
      this.#bases = [this.leader, base("follower", config.follower)];
      this.#followers = [this.#bases[1]];
      this.#routes = [];
      for (const [i, r] of (config.routes ?? []).entries()) {
        if (r.leader != null) this.#routes.push([r.prefix, base(`routes[${i}].leader`, r.leader)]);
        if (r.leader != null) this.#bases.push(this.#routes.at(-1)[1]);
        if (r.follower != null) this.#followers.push(base(`routes[${i}].follower`, r.follower));
      }
      this.#bases.push(...this.#followers.slice(1));
      this.#timeoutMs = config.requestTimeoutMs ?? 10000;
    } catch (e) {
      throw e?.name === "HealthProxyError" ? e : failure("INVALID_CONFIG", `config: ${e?.message ?? e}`);
    }
    this.cause = cause;
  }
  get state() {
    return "direct";
  }
  snapshot() {
    return { state: "direct", leaderLatencyMs: null, checkedAt: null, source: "fallback" };
  }
  start() {
    return Promise.resolve(this.snapshot());
  }
  checkNow() {
    return Promise.resolve(this.snapshot());
  }
  stop() {}
  free() {}
  onChange() {
    return () => {};
  }
  resolve(pathOrUrl) {
    if (typeof pathOrUrl !== "string") throw failure("INVALID_PATH", "pathOrUrl must be a string");
    let rel = pathOrUrl;
    if (!rel.startsWith("/")) {
      const rests = this.#bases.map((b) => under(rel, b)).filter((r) => r !== null);
      if (!rests.length) throw failure("INVALID_PATH", `${rel} is neither a path starting with "/" nor a URL under ${this.#bases.join(" or ")}`);
      // The longest base leaves the shortest rest.
      rel = rests.reduce((a, b) => (b.length < a.length ? b : a));
      if (!rel.startsWith("/")) rel = `/${rel}`;
    }
    const path = rel.split(/[?#]/, 1)[0];
    if (
      rel.startsWith("//") ||
      rel.includes("\\") ||
      /[\u0000-\u001f\u007f-\u009f]/.test(rel) ||
      path.split("/").some((s) => /^(\.|%2e){2}$/i.test(s))
    ) {
      throw failure("INVALID_PATH", `${pathOrUrl} could lead out of the leader's base: refused`);
    }
    // A route's own leader base, longest prefix on whole segments, as the proxy has it.
    let leader = this.leader;
    let best = -1;
    for (const [prefix, b] of this.#routes) {
      const p = prefix.replace(/\/+$/, "");
      if ((path === p || path.startsWith(`${p}/`)) && p.length > best) [leader, best] = [b, p.length];
    }
    return leader + rel;
  }
  /** As `HealthProxy.side`: the side of the longest configured base `url` lies under, else null. */
  side(url) {
    if (typeof url !== "string") return null;
    let best = null;
    for (const b of this.#bases) if (under(url, b) !== null && !(best?.length >= b.length)) best = b;
    return best === null ? null : this.#followers.includes(best) ? "follower" : "leader";
  }
  canServe(pathOrUrl) {
    try {
      this.resolve(pathOrUrl);
      return true;
    } catch {
      return false;
    }
  }
  /** The platform's fetch, as is, to the leader, bounded by requestTimeoutMs. */
  async fetch(pathOrUrl, init) {
    const url = this.resolve(pathOrUrl);
    const own = init?.signal;
    // One controller for the deadline and the caller's signal (no AbortSignal.any needed).
    const timer = new AbortController();
    setTimeout(() => timer.abort(new DOMException("timed out", "TimeoutError")), this.#timeoutMs);
    if (own?.aborted) timer.abort(own.reason);
    own?.addEventListener?.("abort", () => timer.abort(own.reason), { once: true });
    const signal = timer.signal;
    const method = String(init?.method ?? "GET").toUpperCase();
    try {
      // The timer is left to run: `signal` bounds the body's arrival too. No redirect is
      // followed (spec §4): a write's body is never re-sent to another URL.
      return await fetch(url, { ...init, signal, redirect: "manual" });
    } catch (e) {
      if (own?.aborted) throw own.reason;
      const why = timer.signal.aborted ? `no answer within ${this.#timeoutMs} ms` : `${e?.message ?? e}`;
      const read = method === "GET" || method === "HEAD";
      throw failure(
        read ? "LEADER_UNAVAILABLE" : "OUTCOME_UNKNOWN",
        `${method} ${url}: ${why}${read ? "" : "; it may have taken effect: check before sending it again"}`,
      );
    }
  }
}

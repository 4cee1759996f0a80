// health-proxy for Angular: an HttpBackend that sends API requests through `proxy.fetch`
// after every interceptor has run, and a service with the verdict as a signal and
// Observables. Plain ES module with hand-written types (index.d.ts): it uses only
// Angular's public, decorator-free APIs, so no Angular compiler is needed to ship it.
import {
  DestroyRef,
  InjectionToken,
  PLATFORM_ID,
  inject,
  isDevMode,
  makeEnvironmentProviders,
  provideEnvironmentInitializer,
  signal,
} from "@angular/core";
import { PlatformLocation, isPlatformServer } from "@angular/common";
import {
  FetchBackend,
  HttpBackend,
  HttpErrorResponse,
  HttpEventType,
  HttpHeaderResponse,
  HttpHeaders,
  HttpResponse,
  HttpXhrBackend,
} from "@angular/common/http";
import { BehaviorSubject, Observable, distinctUntilChanged, map } from "rxjs";
import { load } from "../load.js";

const WASM_URL = new InjectionToken("health-proxy wasm URL");
const UNKNOWN = Object.freeze({ state: "unknown", leaderLatencyMs: null, checkedAt: null, source: "probe" });
const trim = (url) => String(url).replace(/\/+$/, "");
const hasScheme = (url) => /^[a-z][a-z0-9+.-]*:/i.test(url);

/** The running proxy, what the backend routes, and the verdict for templates. */
export class HealthProxyService {
  #config;
  #options;
  #proxy = null;
  #ready = null;
  #prefixes;
  #warned = new Set();
  #snapshot = new BehaviorSubject(UNKNOWN);

  /** Every verdict change, starting with the current one. */
  snapshot$ = this.#snapshot.asObservable();
  /** The state: "unknown", "leader", "emergency" or "offline"; "direct" when the wasm could not run (no failover). */
  state$ = this.snapshot$.pipe(
    map((s) => s.state),
    distinctUntilChanged(),
  );
  /** The same state as an Angular signal, for templates. */
  state = signal("unknown");
  /**
   * True while rendering on the server (SSR, prerender): there is no proxy and no probe,
   * the state stays "unknown", and the browser decides after hydration.
   */
  onServer = isPlatformServer(inject(PLATFORM_ID));
  // On the server, the page's origin and base as @angular/platform-server sees them (it
  // makes relative request URLs absolute before they reach the backend).
  #location = this.onServer ? inject(PlatformLocation, { optional: true }) : null;
  #wasmUrl = inject(WASM_URL, { optional: true });

  /** @internal: made by provideHealthProxy. */
  constructor(config, options) {
    this.#config = config;
    this.#options = options;
    this.#prefixes = options.apiPrefixes.map((p) => (p === "/" ? p : trim(p)));
    inject(DestroyRef).onDestroy(() => this.#proxy?.stop());
  }

  /** The proxy itself, for `resolve`, `fetch`, `checkNow`, …; throws until it is constructed (see `whenReady`). */
  get proxy() {
    if (this.#proxy) return this.#proxy;
    throw new Error(
      this.onServer
        ? "health-proxy does not run on the server: the browser starts it after hydration"
        : "health-proxy is not started yet: await whenReady(), or add provideHealthProxy(config, { apiPrefixes }) to the application providers",
    );
  }

  /** Resolves with the proxy once the wasm is loaded and it is constructed and started (no verdict needed). */
  whenReady() {
    if (this.onServer) return Promise.reject(notOnServer("whenReady()"));
    return this._start();
  }

  /** True exactly when a request to `pathOrUrl` would be sent now; false before the proxy exists and on the server. */
  canServe(pathOrUrl, method = "GET") {
    return this.#proxy ? this.#proxy.canServe(pathOrUrl, method) : false;
  }

  /** True when a response (by its `url`, so `observe: 'response'`) came from a follower: label such data as possibly stale. */
  servedByFollower(url) {
    return Boolean(url) && this.#proxy?.side(url) === "follower";
  }

  /** True when the backend sends a request to `url` through the proxy. */
  routes(url) {
    return typeof this._target(url) === "string";
  }

  /**
   * @internal What to hand to `proxy.fetch` for `url`: a path or URL (the API), false
   * (not the API: Angular's own backend sends it), or null (an absolute URL and no
   * proxy yet to tell whether it lies under a configured base).
   */
  _target(url) {
    const path = pagePath(url, this.#page());
    if (path != null) return this.#prefixes.some((p) => underPrefix(path, p)) ? path : false;
    if (!this.#proxy) return this.onServer ? false : null;
    return this.#proxy.side(url) ? url : false;
  }

  /** @internal A page-relative request outside every API prefix: say so once per first segment, in dev mode. */
  _warnOutside(req) {
    const path = pagePath(req.url, this.#page());
    if (path == null || !isDevMode()) return;
    const segment = path.split(/[/?#]/)[1] ?? "";
    if (this.#warned.has(segment)) return;
    this.#warned.add(segment);
    console.warn(
      `health-proxy: ${req.method} ${req.url} is under none of apiPrefixes ${JSON.stringify(this.#prefixes)}, ` +
        "so it goes to the page's own origin, not to the leader or follower. If it is meant for the API, add its prefix to apiPrefixes.",
    );
  }

  /**
   * @internal Loads the config and the wasm, constructs the proxy and starts it; once,
   * unless it failed (config.json unreachable, say): then the next request tries again.
   * A wasm that cannot run gives the leader-only stand-in (state "direct"), not a failure.
   */
  _start() {
    if (this.#ready) return this.#ready;
    const ready = (async () => {
      const config = this.#config;
      const resolved = typeof config === "function" ? config() : config;
      const proxy = await load(resolved, { wasm: this.#options.wasmUrl ?? this.#wasmUrl ?? "health_proxy_bg.wasm" });
      this.#proxy = proxy;
      proxy.onChange((s) => this.#publish(s));
      // Not awaited: requests made while the state is "unknown" are the library's to route (§8).
      proxy.start().then((s) => this.#publish(s));
      return proxy;
    })();
    this.#ready = ready;
    ready.catch(() => {
      if (this.#ready === ready) this.#ready = null;
    });
    return ready;
  }

  /** The page's origin and base URL, or null where there is none. */
  #page() {
    if (!this.onServer) {
      const origin = globalThis.location?.origin;
      return origin ? { origin, base: globalThis.document?.baseURI ?? `${origin}/` } : null;
    }
    const l = this.#location;
    if (!l?.protocol?.startsWith("http")) return null;
    const origin = `${l.protocol}//${l.hostname}${l.port ? `:${l.port}` : ""}`;
    try {
      return { origin, base: new URL(l.getBaseHrefFromDOM() || "/", origin).href };
    } catch {
      return null;
    }
  }

  #publish(snapshot) {
    this.state.set(snapshot.state);
    this.#snapshot.next(snapshot);
  }
}

/**
 * The `HttpBackend` while `provideHealthProxy` is in the providers: the handler after
 * every interceptor. API requests go through `proxy.fetch`; every other request goes to
 * the backend Angular would have used (`FetchBackend` under `withFetch()`, else XHR).
 */
export class HealthProxyBackend {
  #service = inject(HealthProxyService);
  #fallback = inject(FetchBackend, { optional: true }) ?? inject(HttpXhrBackend);

  handle(req) {
    const target = this.#service._target(req.urlWithParams);
    if (target === false) {
      this.#service._warnOutside(req);
      return this.#fallback.handle(req);
    }
    if (this.#service.onServer) {
      return new Observable((o) => o.error(refusal(req, notOnServer(`${req.method} ${req.urlWithParams}`))));
    }
    return new Observable((observer) => {
      const aborter = new AbortController();
      let timer;
      if (req.timeout) {
        timer = setTimeout(() => aborter.abort(new DOMException("signal timed out", "TimeoutError")), req.timeout);
      }
      let inner = null;
      let closed = false;
      this.#service
        ._start()
        .then((proxy) => {
          if (closed) return;
          // An absolute URL could only be classified once the config was loaded.
          const resolved = target ?? this.#service._target(req.urlWithParams);
          if (resolved === false) {
            inner = this.#fallback.handle(req).subscribe(observer);
            return;
          }
          return send(proxy, req, resolved, aborter.signal, observer);
        })
        .catch((error) => observer.error(refusal(req, error)));
      return () => {
        closed = true;
        clearTimeout(timer);
        aborter.abort();
        inner?.unsubscribe();
      };
    });
  }
}

/**
 * Providers for `bootstrapApplication`, after `provideHttpClient(…)`: replaces
 * `HttpBackend` and starts the proxy in the browser without delaying the first render.
 * `config` is the proxy's config, or a function returning it (or a promise of it, e.g.
 * fetched from config.json). `options.apiPrefixes` (required) names the page-relative
 * URL prefixes that are the API.
 */
export function provideHealthProxy(config, options) {
  const prefixes = options?.apiPrefixes;
  if (!Array.isArray(prefixes) || prefixes.length === 0 || !prefixes.every((p) => typeof p === "string" && p.startsWith("/"))) {
    throw new TypeError(
      "provideHealthProxy(config, { apiPrefixes }): apiPrefixes must list the page-relative prefixes of the API, each starting with '/', e.g. { apiPrefixes: ['/api'] }",
    );
  }
  const opts = { ...options, apiPrefixes: [...prefixes] };
  return makeEnvironmentProviders([
    { provide: HealthProxyService, useFactory: () => new HealthProxyService(config, opts) },
    { provide: HttpBackend, useFactory: () => new HealthProxyBackend() },
    provideEnvironmentInitializer(() => {
      const backend = inject(HttpBackend);
      // provideHttpClientTesting() came later and replaced the backend: HttpTestingController
      // answers every request, so a unit test never loads the wasm nor probes.
      if (backend.isTestingBackend) return;
      if (!(backend instanceof HealthProxyBackend)) {
        throw new Error(
          "health-proxy: provideHealthProxy() must come after provideHttpClient(…) in the providers: both set HttpBackend, and the later one wins",
        );
      }
      const service = inject(HealthProxyService);
      if (service.onServer) return;
      service._start().catch((error) => console.error("health-proxy could not start:", error));
    }),
  ]);
}

/**
 * The wasm's URL, for the browser's bootstrap (main.ts) only: there the app imports it
 * with `{ loader: 'file' }` and the builder emits it under a content-hashed name. The
 * same import in a file the server build also bundles emits the file twice, and the
 * builder writes the server's copy only (so the browser's is missing from the site).
 */
export function provideHealthProxyWasm(url) {
  return makeEnvironmentProviders([{ provide: WASM_URL, useValue: url }]);
}

/** The path of a page-relative URL, or of an absolute one on the page's own origin; else null. */
function pagePath(url, page) {
  if (url.startsWith("/") && !url.startsWith("//")) return url;
  if (!page) return hasScheme(url) || url.startsWith("//") ? null : `/${url}`;
  let parsed;
  try {
    parsed = new URL(url, page.base);
  } catch {
    return null;
  }
  return parsed.origin === page.origin ? parsed.pathname + parsed.search + parsed.hash : null;
}

function underPrefix(path, prefix) {
  if (prefix === "/") return true;
  const pathname = path.split(/[?#]/)[0];
  return pathname === prefix || pathname.startsWith(`${prefix}/`);
}

function notOnServer(what) {
  const error = new Error(
    `${what} was not sent: on the server (SSR, prerender) health-proxy has no verdict and routes nothing; the browser sends API requests after hydration`,
  );
  error.name = "HealthProxyError";
  error.code = "NOT_READY";
  return error;
}

/** A request that got no HTTP answer: status 0, `error` the HealthProxyError (or abort/timeout). */
function refusal(req, error) {
  return new HttpErrorResponse({ error, status: 0, statusText: error?.code ?? error?.name ?? "Unknown Error", url: req.urlWithParams });
}

function requestInit(req, signal) {
  const headers = {};
  for (const name of req.headers.keys()) headers[name] = req.headers.getAll(name).join(",");
  if (!req.headers.has("Accept")) headers["Accept"] = "application/json, text/plain, */*";
  const contentType = req.detectContentTypeHeader();
  if (contentType != null && !req.headers.has("Content-Type")) headers["Content-Type"] = contentType;
  const init = { method: req.method, headers, signal, body: req.serializeBody() ?? undefined };
  const credentials = req.withCredentials ? "include" : req.credentials;
  if (credentials) init.credentials = credentials;
  for (const key of ["keepalive", "cache", "priority", "mode", "redirect", "referrer", "integrity", "referrerPolicy"]) {
    if (req[key] != null) init[key] = req[key];
  }
  return init;
}

/** proxy.fetch, then the events Angular's FetchBackend would emit, by `responseType` and `reportProgress`. */
async function send(proxy, req, target, signal, observer) {
  const init = requestInit(req, signal);
  let res;
  try {
    const pending = proxy.fetch(target, init);
    observer.next({ type: HttpEventType.Sent });
    res = await pending;
  } catch (error) {
    observer.error(refusal(req, signal.aborted && signal.reason?.name === "TimeoutError" ? signal.reason : error));
    return;
  }
  const headers = new HttpHeaders(Object.fromEntries(res.headers.entries()));
  const meta = { headers, status: res.status, statusText: res.statusText, url: res.url || req.urlWithParams };
  if (req.reportProgress) {
    // fetch reports no upload progress: one event once the whole body has been sent.
    const size = bodySize(init.body);
    if (size != null) observer.next({ type: HttpEventType.UploadProgress, loaded: size, total: size });
    observer.next(new HttpHeaderResponse(meta));
  }
  let bytes;
  try {
    bytes = await readAll(res, req, observer);
  } catch (error) {
    observer.error(new HttpErrorResponse({ ...meta, error, status: 0 }));
    return;
  }
  const ok = res.status >= 200 && res.status < 300;
  let body;
  try {
    body = parseBody(req.responseType, bytes, res.headers.get("Content-Type") ?? "", ok);
  } catch (error) {
    observer.error(new HttpErrorResponse({ ...meta, error }));
    return;
  }
  if (ok) {
    observer.next(new HttpResponse({ ...meta, body }));
    observer.complete();
  } else {
    observer.error(new HttpErrorResponse({ ...meta, error: body }));
  }
}

async function readAll(res, req, observer) {
  if (!res.body) return new Uint8Array(0);
  const total = Number(res.headers.get("Content-Length")) || undefined;
  const reader = res.body.getReader();
  const chunks = [];
  let loaded = 0;
  let partialText;
  const decoder = new TextDecoder();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    loaded += value.length;
    if (req.reportProgress) {
      if (req.responseType === "text") partialText = (partialText ?? "") + decoder.decode(value, { stream: true });
      observer.next({ type: HttpEventType.DownloadProgress, loaded, total, partialText });
    }
  }
  const all = new Uint8Array(loaded);
  let at = 0;
  for (const chunk of chunks) {
    all.set(chunk, at);
    at += chunk.length;
  }
  return all;
}

function parseBody(responseType, bytes, contentType, ok) {
  switch (responseType) {
    case "text":
      return new TextDecoder().decode(bytes);
    case "blob":
      return new Blob([bytes], { type: contentType });
    case "arraybuffer":
      return bytes.buffer;
    default: {
      const text = new TextDecoder().decode(bytes).replace(/^\)\]\}',?\n/, "");
      if (text === "") return null;
      try {
        return JSON.parse(text);
      } catch (error) {
        if (!ok) return text; // an error page: the caller gets its text
        throw error;
      }
    }
  }
}

function bodySize(body) {
  if (body == null) return null;
  if (typeof body === "string") return new TextEncoder().encode(body).length;
  if (body instanceof Blob) return body.size;
  if (body instanceof ArrayBuffer || ArrayBuffer.isView(body)) return body.byteLength;
  return null;
}

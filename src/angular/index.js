// health-proxy for Angular: a provider that loads the wasm and starts the proxy before the
// app renders, an HttpClient interceptor that sends API requests through `proxy.fetch`
// (so failover is the library's own, not re-implemented here), and a service with the
// state as an Observable. Plain ES module with hand-written types (index.d.ts): it uses
// only Angular's public, decorator-free APIs, so no Angular compiler is needed to ship it.
import { InjectionToken, inject, makeEnvironmentProviders, provideAppInitializer, signal } from "@angular/core";
import { HttpErrorResponse, HttpHeaders, HttpResponse } from "@angular/common/http";
import { BehaviorSubject, Observable, distinctUntilChanged, map } from "rxjs";
import init, { HealthProxy } from "../health_proxy.js";

/** Options of `provideHealthProxy` beyond the proxy's own config. */
const HEALTH_PROXY_OPTIONS = new InjectionToken("HEALTH_PROXY_OPTIONS");

/** The running proxy and what the interceptor routes; filled in by the app initializer. */
export class HealthProxyService {
  #proxy = null;
  #bases = [];
  #prefixes = [];
  #snapshot = new BehaviorSubject({ state: "unknown", leaderLatencyMs: null, checkedAt: null, source: "probe" });

  /** Every verdict change, starting with the current one. */
  snapshot$ = this.#snapshot.asObservable();
  /** The state: "unknown", "leader", "emergency" or "offline". */
  state$ = this.snapshot$.pipe(map((s) => s.state), distinctUntilChanged());
  /** The same state as an Angular signal, for templates. */
  state = signal("unknown");

  /** The proxy itself, for `resolve`, `fetch`, `checkNow`, … */
  get proxy() {
    if (!this.#proxy) throw new Error("health-proxy is not started: add provideHealthProxy(config) to the application providers");
    return this.#proxy;
  }

  /** True exactly when a request to `pathOrUrl` would be sent now (for templates: hub links, forms). */
  canServe(pathOrUrl, method = "GET") {
    return this.#proxy ? this.#proxy.canServe(pathOrUrl, method) : false;
  }

  /** True when a response (by its `url`) came from the follower: label such data as possibly stale. */
  servedByFollower(url) {
    const follower = this.#bases[1];
    return Boolean(follower) && (url === follower || url.startsWith(`${follower}/`));
  }

  /** True when the interceptor sends this URL through the proxy. */
  routes(url) {
    if (this.#bases.some((base) => url === base || url.startsWith(`${base}/`) || url.startsWith(`${base}?`))) return true;
    if (!url.startsWith("/") || url.startsWith("//")) return false;
    return this.#prefixes.some((p) => url === p || url.startsWith(p === "/" ? p : `${p}/`) || url.startsWith(`${p}?`));
  }

  /** @internal */
  async _start(config, options) {
    await init({ module_or_path: options.wasmUrl ?? "health_proxy_bg.wasm" });
    const proxy = new HealthProxy(config);
    const trim = (url) => String(url).replace(/\/+$/, "");
    this.#bases = [trim(config.leader), trim(config.follower)];
    this.#prefixes = (options.apiPrefixes ?? (config.routes ?? []).map((r) => r.prefix)).map((p) => (p === "/" ? p : trim(p)));
    this.#proxy = proxy;
    proxy.onChange((s) => this.#publish(s));
    this.#publish(await proxy.start());
  }

  #publish(snapshot) {
    this.state.set(snapshot.state);
    this.#snapshot.next(snapshot);
  }
}

/**
 * Providers for `bootstrapApplication`: loads the wasm, constructs the proxy and awaits
 * `start()` before the app renders. `config` is the proxy's config, or a function
 * returning it (or a promise of it, e.g. fetched from config.json).
 */
export function provideHealthProxy(config, options = {}) {
  return makeEnvironmentProviders([
    { provide: HEALTH_PROXY_OPTIONS, useValue: options },
    { provide: HealthProxyService, useFactory: () => new HealthProxyService() },
    provideAppInitializer(async () => {
      const service = inject(HealthProxyService);
      const opts = inject(HEALTH_PROXY_OPTIONS);
      const resolved = typeof config === "function" ? await config() : config;
      await service._start(resolved, opts);
    }),
  ]);
}

/**
 * A functional `HttpInterceptorFn`: requests under the leader's or follower's base, or
 * under an API prefix, go through `proxy.fetch` — routing, timeouts, the single follower
 * retry of a critical read, and the refusals all come from the library. Other URLs
 * (assets, fonts, CDNs) pass through untouched. A refusal becomes an `HttpErrorResponse`
 * with status 0 whose `error` is the `HealthProxyError` (with its `code`).
 */
export function healthProxyInterceptor(req, next) {
  const service = inject(HealthProxyService);
  if (!service.routes(req.url)) return next(req);
  return new Observable((subscriber) => {
    const controller = new AbortController();
    const headers = {};
    for (const name of req.headers.keys()) headers[name] = req.headers.getAll(name).join(", ");
    const contentType = req.detectContentTypeHeader();
    if (contentType && !req.headers.has("Content-Type")) headers["content-type"] = contentType;
    const body = req.serializeBody();
    service.proxy
      .fetch(req.urlWithParams, {
        method: req.method,
        headers,
        body: body ?? undefined,
        signal: controller.signal,
        credentials: req.withCredentials ? "include" : "same-origin",
      })
      .then(async (res) => {
        const responseHeaders = new HttpHeaders(Object.fromEntries(res.headers.entries()));
        const init = { headers: responseHeaders, status: res.status, statusText: res.statusText, url: res.url };
        if (res.ok) {
          subscriber.next(new HttpResponse({ ...init, body: await readBody(res, req.responseType) }));
          subscriber.complete();
        } else {
          subscriber.error(new HttpErrorResponse({ ...init, error: await readBody(res, "json").catch(() => null) }));
        }
      })
      .catch((error) => {
        if (controller.signal.aborted) return; // unsubscribed: nobody is listening
        subscriber.error(
          new HttpErrorResponse({ error, status: 0, statusText: error?.code ?? "Unknown Error", url: req.urlWithParams }),
        );
      });
    return () => controller.abort();
  });
}

async function readBody(res, responseType) {
  switch (responseType) {
    case "blob":
      return res.blob();
    case "arraybuffer":
      return res.arrayBuffer();
    case "text":
      return res.text();
    default: {
      const text = await res.text();
      if (!text) return null;
      try {
        return JSON.parse(text);
      } catch {
        return text;
      }
    }
  }
}

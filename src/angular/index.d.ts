import type { EnvironmentProviders, Signal } from "@angular/core";
import type { HttpBackend, HttpEvent, HttpRequest } from "@angular/common/http";
import type { Observable } from "rxjs";
import type { HealthProxy, HealthProxyConfig, Snapshot, State } from "../health_proxy.js";
import type { DirectProxy, DirectSnapshot } from "../load.js";

export type { HealthProxyConfig, HealthProxyError, HealthProxyErrorCode, Snapshot, State } from "../health_proxy.js";
export type { DirectProxy, DirectSnapshot } from "../load.js";

export interface HealthProxyOptions {
  /**
   * The page-relative URL prefixes that are the API, on whole path segments: a request
   * to `/api/notes` with `['/api']` goes through the proxy; anything else (assets,
   * i18n files, CDNs) goes to Angular's own backend. Required, so that no API request
   * silently goes to the page's own origin; in dev mode a page-relative request under
   * none of them logs a warning.
   */
  apiPrefixes: string[];
  /**
   * Where the browser fetches the .wasm, relative to the document; default: the URL given
   * to `provideHealthProxyWasm`, else "health_proxy_bg.wasm".
   */
  wasmUrl?: string | URL;
}

/**
 * The wasm's URL, in the browser's `main.ts` only: `import wasmUrl from
 * 'health-proxy/health_proxy_bg.wasm' with { loader: 'file' };` makes Angular's builder
 * emit it as `media/health_proxy_bg-<hash>.wasm` (cached for a year) and give its URL;
 * then `bootstrapApplication(App, mergeApplicationConfig(appConfig, { providers:
 * [provideHealthProxyWasm(wasmUrl)] }))`. Not in a file the server build bundles too
 * (app.config.ts): the builder then writes only the server's copy of the file.
 */
export declare function provideHealthProxyWasm(url: string | URL): EnvironmentProviders;

/**
 * List it after `provideHttpClient(…)` (and before `provideHttpClientTesting()` in unit
 * tests): it replaces `HttpBackend`, so every interceptor runs first, in any order. In the
 * browser it loads the wasm and starts the proxy without delaying the first render; on the
 * server it does nothing and API requests fail with `NOT_READY`. When the wasm cannot run
 * (a CSP without 'wasm-unsafe-eval', a missing file, no WebAssembly) every API request
 * goes to the leader through the stand-in and the state is `"direct"`: show that
 * automatic failover is unavailable. A start that failed (config unreachable) is tried
 * again by the next request.
 */
export declare function provideHealthProxy(
  config: HealthProxyConfig | (() => HealthProxyConfig | Promise<HealthProxyConfig>),
  options: HealthProxyOptions,
): EnvironmentProviders;

/**
 * The `HttpBackend` provideHealthProxy installs: API requests through `proxy.fetch`
 * (refusals become `HttpErrorResponse`s with status 0 whose `error` is the
 * `HealthProxyError`; a write with no answer, or whose body was cut off, has
 * `error.code === "OUTCOME_UNKNOWN"` and `error.idempotencyKey`: send it again with that
 * key in the `writes.idempotencyKey` header to retry safely), all others through
 * Angular's `FetchBackend` or `HttpXhrBackend`.
 */
export declare class HealthProxyBackend implements HttpBackend {
  handle(req: HttpRequest<unknown>): Observable<HttpEvent<unknown>>;
}

export declare class HealthProxyService {
  /** Every verdict change, starting with the current one. */
  readonly snapshot$: Observable<Snapshot | DirectSnapshot>;
  /** `"direct"` when the package could not start: no failover, everything to the leader. */
  readonly state$: Observable<State | "direct">;
  readonly state: Signal<State | "direct">;
  /** True while rendering on the server (SSR, prerender): no proxy, state "unknown"; the browser decides after hydration. */
  readonly onServer: boolean;
  /** The proxy; throws until it is constructed (see `whenReady`) and on the server. */
  readonly proxy: HealthProxy | DirectProxy;
  /** Resolves with the proxy (or the stand-in) once the wasm is loaded and it is started (not waiting for a verdict). */
  whenReady(): Promise<HealthProxy | DirectProxy>;
  /** True exactly when a request would be sent now; false before the proxy exists and on the server. */
  canServe(pathOrUrl: string, method?: string): boolean;
  /**
   * True when a response (by its `url`: use `observe: 'response'`) came from a follower
   * base, top-level or a route's (the proxy's `side(url)`): label such data as possibly
   * stale. False before the proxy exists.
   */
  servedByFollower(url: string | null | undefined): boolean;
  /**
   * True when the backend sends a request to `url` through the proxy: a page-relative URL
   * under `apiPrefixes`, or an absolute one under a configured base (known once the proxy
   * exists: before, false).
   */
  routes(url: string): boolean;
}

import type { EnvironmentProviders, Signal } from "@angular/core";
import type { HttpEvent, HttpHandlerFn, HttpRequest } from "@angular/common/http";
import type { Observable } from "rxjs";
import type { HealthProxy, HealthProxyConfig, Snapshot, State } from "../health_proxy.js";

export type { HealthProxyConfig, HealthProxyError, HealthProxyErrorCode, Snapshot, State } from "../health_proxy.js";

export interface HealthProxyOptions {
  /** Where the browser fetches the .wasm (default "health_proxy_bg.wasm", relative to the document). */
  wasmUrl?: string | URL;
  /** Relative URL prefixes the interceptor routes (default: the config's route prefixes). */
  apiPrefixes?: string[];
}

/** Loads the wasm, constructs the proxy and awaits `start()` before the app renders. */
export declare function provideHealthProxy(
  config: HealthProxyConfig | (() => HealthProxyConfig | Promise<HealthProxyConfig>),
  options?: HealthProxyOptions,
): EnvironmentProviders;

/** Sends API requests through `proxy.fetch`; refusals become `HttpErrorResponse`s whose `error` is the `HealthProxyError`. */
export declare function healthProxyInterceptor(req: HttpRequest<unknown>, next: HttpHandlerFn): Observable<HttpEvent<unknown>>;

export declare class HealthProxyService {
  /** Every verdict change, starting with the current one. */
  readonly snapshot$: Observable<Snapshot>;
  readonly state$: Observable<State>;
  readonly state: Signal<State>;
  readonly proxy: HealthProxy;
  canServe(pathOrUrl: string, method?: string): boolean;
  /** True when a response (by its `url`) came from the follower: label such data as possibly stale. */
  servedByFollower(url: string): boolean;
  routes(url: string): boolean;
}

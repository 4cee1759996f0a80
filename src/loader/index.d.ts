// health-proxy's loader (spec §4, "When the package cannot start").
import type { HealthProxy, HealthProxyConfig, Snapshot } from "./health_proxy.js";

export interface LoadOptions {
  /**
   * Where the wasm comes from: a URL (default: `health_proxy_bg.wasm` next to this module),
   * a `Response` or its promise, a compiled `WebAssembly.Module` or the bytes.
   */
  wasm?: string | URL | Response | Promise<Response> | WebAssembly.Module | BufferSource;
}

/** A Snapshot of the stand-in: never changes. */
export interface DirectSnapshot {
  state: "direct";
  leaderLatencyMs: null;
  checkedAt: null;
  source: "fallback";
}

/**
 * The leader-only stand-in `load` resolves with when the package cannot start: the same
 * members as `HealthProxy`; every request goes, as is, to the leader (a route's own
 * `leader` base where it has one), never to the follower.
 */
export declare class DirectProxy {
  /** Always `"direct"`. */
  readonly state: "direct";
  /** The leader base every request goes to. */
  readonly leader: string;
  /** Why the package could not start and what fixes it (also logged once with console.error). */
  readonly cause: string;
  snapshot(): DirectSnapshot;
  /** Resolves at once. */
  start(): Promise<DirectSnapshot>;
  /** Resolves at once: there is nothing to probe. */
  checkNow(): Promise<DirectSnapshot>;
  stop(): void;
  free(): void;
  /** The state never changes: the listener is never called. */
  onChange(listener: (snapshot: Snapshot | DirectSnapshot) => void): () => void;
  /** The leader URL; throws `INVALID_PATH` by the same path rules as `HealthProxy`. */
  resolve(pathOrUrl: string, method?: string): string;
  /** True exactly when `resolve` would not throw. */
  canServe(pathOrUrl: string, method?: string): boolean;
  /** As `HealthProxy.side`: `"leader"` or `"follower"` for a URL under a configured base of that side, else `null`. */
  side(url: string): "leader" | "follower" | null;
  /**
   * The platform's `fetch` to the leader, bounded by `requestTimeoutMs` (body included).
   * No answer rejects with `HealthProxyError` `LEADER_UNAVAILABLE` (a read) or
   * `OUTCOME_UNKNOWN` (a write); the caller's abort rejects with its own reason.
   */
  fetch(pathOrUrl: string, init?: RequestInit): Promise<Response>;
}

/**
 * Loads the package and resolves with a `HealthProxy`; when the wasm cannot be fetched,
 * compiled (a CSP without `'wasm-unsafe-eval'`) or instantiated, or there is no
 * WebAssembly, resolves with a `DirectProxy` and logs one `console.error` naming the
 * cause and the fix. `config` may be a promise of it (the wasm loads meanwhile). Rejects
 * with `INVALID_CONFIG` for a config the proxy refuses, and with the config's own error.
 */
export function load(
  config: HealthProxyConfig | PromiseLike<HealthProxyConfig>,
  options?: LoadOptions,
): Promise<HealthProxy | DirectProxy>;

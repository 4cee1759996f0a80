//! TypeScript types for the generated `.d.ts`, where wasm-bindgen alone would say `any`.

use wasm_bindgen::prelude::*;

#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &str = r#"
/** The verdict states of the spec: no verdict yet, leader up, leader down with the follower reachable, neither reachable. */
export type State = "unknown" | "leader" | "emergency" | "offline";

/** The current verdict. */
export interface Snapshot {
  state: State;
  /** Round trip of the last good leader probe, in ms, or null. */
  leaderLatencyMs: number | null;
  /** Epoch ms of the verdict, or null. */
  checkedAt: number | null;
  source: "cache" | "probe" | "request" | "peer";
}

export type HealthProxyErrorCode =
  | "INVALID_CONFIG"
  | "INVALID_PATH"
  | "NOT_READY"
  | "FEATURE_UNAVAILABLE"
  | "LEADER_UNAVAILABLE"
  | "OUTCOME_UNKNOWN"
  | "OFFLINE";

/**
 * Every error the proxy throws or rejects with. `LEADER_UNAVAILABLE` for a write: it was
 * not sent. `OUTCOME_UNKNOWN`: a write that was sent, or may have been (a timeout, a
 * network error, which fetch does not say happened before or after sending), and got no
 * answer; it may have taken effect. The library never retries it: send it again with
 * `idempotencyKey` in the `writes.idempotencyKey` header to retry safely.
 */
export interface HealthProxyError extends Error {
  name: "HealthProxyError";
  code: HealthProxyErrorCode;
  /** With `OUTCOME_UNKNOWN` only: the key the write carried, or null (option off, none set by the caller). */
  idempotencyKey?: string | null;
}

export interface RouteConfig {
  /** A path starting with `/`, matched on whole segments; the longest match wins. */
  prefix: string;
  /** True when the follower may serve it while the leader is down. */
  critical: boolean;
  /** A base of its own for this prefix on the leader's side (e.g. its file store), used in place of `leader`; never probed. */
  leader?: string;
  /** A base of its own for this prefix on the follower's side (e.g. an S3 bucket), used in place of `follower`; never probed. */
  follower?: string;
}

/** Spec §5. Unknown keys are refused. */
export interface HealthProxyConfig {
  /** Absolute `http(s)` URL of the true leader, no query, fragment or credentials; trailing `/` dropped. `http:` is refused when the page is `https:` (mixed content). */
  leader: string;
  /** Absolute `http(s)` URL of the follower (the emergency leader): same rules, and must differ from `leader`. */
  follower: string;
  health?: {
    /** Path on the leader; default "/health". */
    path?: string;
    /** Path on the follower, probed only while the leader is failing; default "/health". */
    followerPath?: string;
    /** 50 – 60000: the probe is aborted (really: `AbortController`) at this time — or, once three good probes have measured the line, at max(this, 4 × SRTT), at most 3 × this (spec §3: a far leader is not dead for being far); default 1500. */
    timeoutMs?: number;
    /** 1000 – 3600000: re-probe period while healthy; default 15000. */
    intervalMs?: number;
    /** 1000 – 2147483647: cap of the re-probe backoff while down; the top is the longest a browser timer waits (2^31 − 1 ms); default 60000. */
    maxBackoffMs?: number;
    /** A non-empty substring the first 4 KiB of the leader's health body must contain, or an object of JSON scalars the body, parsed as a JSON object, must hold with equal values: `{ "status": "ok" }` passes `{"status":"ok"}`, `{"status": "ok"}` and pretty-printed JSON alike. */
    expect?: string | Record<string, string | number | boolean | null>;
  };
  /** 100 – 300000: a request's deadline, its body included; default 10000. */
  requestTimeoutMs?: number;
  /** 10 – 10000: how long a critical read waits on the leader before the follower may join (spec §8); default 250. */
  raceAfterMs?: number;
  /** Each 500 – 599: statuses that count as a leader failure; default [502, 503, 504]. */
  failoverStatuses?: number[];
  /** `{ prefix, critical, leader?, follower? }`: `prefix` and `critical` required; longest whole-segment prefix wins; `leader`/`follower` are bases of the route's own (a file store, an S3 bucket) used for that prefix in place of the top-level ones, never probed; the no-escape rule covers them too; default []. */
  routes?: RouteConfig[];
  /** For paths no route matches; default false. */
  defaultCritical?: boolean;
  /** `true` sends the caller's `Authorization` header and cookies to the follower too (a follower behind the same identity provider); else a request to the follower carries neither (`credentials: "omit"`); default false. */
  followerCredentials?: boolean;
  hysteresis?: {
    /** 1 – 10: consecutive good probes to leave `emergency`; default 2. */
    successesToUp?: number;
    /** 1 – 10: consecutive failed probes to leave `leader`; default 1. */
    failuresToDown?: number;
    /** 0 (off) or 1000 – 600000: the half-life of the flap penalty (spec §2); default 30000. */
    halfLifeMs?: number;
  };
  writes?: {
    /** A header name (an HTTP token, e.g. `"Idempotency-Key"`): every write then carries a fresh `crypto.randomUUID()` in it unless the caller set it; the leader's CORS must allow it, and the leader should answer a repeated key with its stored answer; default null. */
    idempotencyKey?: string | null;
  };
  cache?: {
    /** `"local"`, `"session"` or `"none"`: where the verdict is kept (`"none"`: in memory only); default "local". */
    storage?: "local" | "session" | "none";
    /** The Web Storage key; non-empty; default "health-proxy". */
    key?: string;
    /** 0 – 86400000: how long a stored verdict is trusted for routing (0: never reuse a stored verdict); default 30000. */
    ttlMs?: number;
  };
  reports?: {
    /** A path on the leader that takes one `POST` per outage episode this browser saw (spec §11, docs/api.md); `null`: reports are off; default null. */
    path?: string | null;
    /** 0 – 1: the share of episodes reported, drawn at random per episode (0: none); default 1. */
    sampleRate?: number;
    /** 0 – 100: reports kept with the verdict cache until the leader takes them; the oldest is dropped beyond this (0: a report whose first send fails is dropped); default 10. */
    maxPending?: number;
  };
}
"#;

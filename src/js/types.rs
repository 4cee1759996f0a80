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
  /** A path starting with "/", matched on whole segments; the longest match wins. */
  prefix: string;
  /** True when the follower may serve it while the leader is down. */
  critical: boolean;
  /** A base of its own for this prefix on the leader's side (e.g. its file store); never probed. */
  leader?: string;
  /** A base of its own for this prefix on the follower's side (e.g. an S3 bucket); never probed. */
  follower?: string;
}

/** Spec §5. Unknown keys are refused. */
export interface HealthProxyConfig {
  /** Absolute http(s) URL of the true leader. */
  leader: string;
  /** Absolute http(s) URL of the follower (emergency leader). */
  follower: string;
  health?: {
    /** Default "/health". */
    path?: string;
    /** Default "/health". */
    followerPath?: string;
    /** 50 – 60000, default 1500. */
    timeoutMs?: number;
    /** 1000 – 3600000, default 15000. */
    intervalMs?: number;
    /** ≥ 1000, default 60000. */
    maxBackoffMs?: number;
    /**
     * A substring the first 4 KiB of the health body must contain, or an object whose
     * every key the body, parsed as JSON, must hold with an equal value
     * (`{ status: "ok" }`: whitespace and key order don't matter).
     */
    expect?: string | Record<string, string | number | boolean | null>;
  };
  /** 100 – 300000, default 10000. */
  requestTimeoutMs?: number;
  /** 10 – 10000, default 250: a critical read waits this long on the leader before the follower joins the race (spec §8). */
  raceAfterMs?: number;
  /** Statuses 500 – 599, default [502, 503, 504]. */
  failoverStatuses?: number[];
  routes?: RouteConfig[];
  /** Default false. */
  defaultCritical?: boolean;
  hysteresis?: {
    /** 1 – 10, default 2. */
    successesToUp?: number;
    /** 1 – 10, default 1. */
    failuresToDown?: number;
    /** 0 (off) or 1000 – 600000, default 30000: the flap penalty's half-life (spec §2). */
    halfLifeMs?: number;
  };
  writes?: {
    /**
     * A header name (e.g. "Idempotency-Key") or null (default): every write then carries
     * it with a fresh `crypto.randomUUID()`, unless the caller set it. The leader's CORS
     * must allow the header, and the leader should answer a repeated key with its stored
     * answer.
     */
    idempotencyKey?: string | null;
  };
  cache?: {
    /** Default "local". */
    storage?: "local" | "session" | "none";
    /** Default "health-proxy". */
    key?: string;
    /** 0 – 86400000, default 30000. */
    ttlMs?: number;
  };
}
"#;

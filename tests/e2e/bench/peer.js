// The "five-line JavaScript peer" of the benchmark: a read through a cockatiel circuit
// breaker (opens after one failure) around a 1.5 s aggressive timeout, falling back to the
// follower. What a team would write instead of health-proxy; measured beside it.
import { circuitBreaker, ConsecutiveBreaker, fallback, handleAll, timeout, TimeoutStrategy, wrap } from "./vendor/cockatiel.js";

export function breakerRead({ leader, follower }, path) {
  const get = (base, signal) =>
    fetch(base.replace(/\/+$/, "") + path, { signal, cache: "no-store" }).then((r) => (r.ok ? r.json() : Promise.reject(new Error(`HTTP ${r.status}`))));
  const breaker = circuitBreaker(handleAll, { halfOpenAfter: 10_000, breaker: new ConsecutiveBreaker(1) });
  const policy = wrap(fallback(handleAll, () => get(follower)), breaker, timeout(1500, TimeoutStrategy.Aggressive));
  return () => policy.execute(({ signal }) => get(leader, signal));
}

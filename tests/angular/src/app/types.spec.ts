// Spec §4 in the package's types: the second argument of fetch, resolve and canServe is
// optional, as the README calls them. `ng test` type-checks this file (TS2554 fails it).
import type { HealthProxy, HealthProxyConfig, HealthProxyError } from 'health-proxy';

function oneArgument(proxy: HealthProxy): [Promise<Response>, string, boolean] {
  return [proxy.fetch('/api/pages'), proxy.resolve('/api/pages'), proxy.canServe('/api/pages')];
}

/** The key an unknown outcome carries, as the README's resend reads it (TS2339 if untyped). */
function keyOf(e: HealthProxyError): string | null | undefined {
  return e.code === 'OUTCOME_UNKNOWN' ? e.idempotencyKey : undefined;
}
const keyed: HealthProxyConfig = { leader: 'https://a.example', follower: 'https://b.example', writes: { idempotencyKey: 'Idempotency-Key' } };

describe('health-proxy types', () => {
  it('type OUTCOME_UNKNOWN, its idempotencyKey and writes.idempotencyKey', () => {
    const e = Object.assign(new Error('x'), { name: 'HealthProxyError' as const, code: 'OUTCOME_UNKNOWN' as const, idempotencyKey: 'k' });
    expect([keyOf(e), keyed.writes?.idempotencyKey]).toEqual(['k', 'Idempotency-Key']);
  });

  it('take fetch(path), resolve(path) and canServe(path) with one argument', async () => {
    // Called on a stand-in: what matters is that this file compiled.
    const calls: unknown[][] = [];
    const record = (...args: unknown[]) => (calls.push(args), undefined);
    oneArgument({ fetch: record, resolve: record, canServe: record } as unknown as HealthProxy);
    expect(calls).toEqual([['/api/pages'], ['/api/pages'], ['/api/pages']]);
  });
});

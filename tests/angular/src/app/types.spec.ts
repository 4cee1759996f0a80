// Spec §4 in the package's types: the second argument of fetch, resolve and canServe is
// optional, as the README calls them. `ng test` type-checks this file (TS2554 fails it).
import type { HealthProxy } from 'health-proxy';

function oneArgument(proxy: HealthProxy): [Promise<Response>, string, boolean] {
  return [proxy.fetch('/api/pages'), proxy.resolve('/api/pages'), proxy.canServe('/api/pages')];
}

describe('health-proxy types', () => {
  it('take fetch(path), resolve(path) and canServe(path) with one argument', async () => {
    // Called on a stand-in: what matters is that this file compiled.
    const calls: unknown[][] = [];
    const record = (...args: unknown[]) => (calls.push(args), undefined);
    oneArgument({ fetch: record, resolve: record, canServe: record } as unknown as HealthProxy);
    expect(calls).toEqual([['/api/pages'], ['/api/pages'], ['/api/pages']]);
  });
});

// Spec §4 in the package's types, as an app compiles against them. Every check here is a
// compile-time one (vitest's expectTypeOf): `ng test` type-checks this file, and a type
// that differs from the spec fails the run with a TypeScript error before any test runs
// (checked: with `fetch`'s second parameter made required, or `idempotencyKey` typed
// `any`, `ng test` fails). At run time these calls do nothing; no value here is the test.
import type { HealthProxy, HealthProxyConfig, HealthProxyError, HealthProxyErrorCode } from 'health-proxy';

describe('health-proxy types', () => {
  it('type the error codes, OUTCOME_UNKNOWN\'s idempotencyKey and writes.idempotencyKey', () => {
    expectTypeOf<HealthProxyErrorCode>().toEqualTypeOf<
      | 'INVALID_CONFIG'
      | 'INVALID_PATH'
      | 'NOT_READY'
      | 'FEATURE_UNAVAILABLE'
      | 'LEADER_UNAVAILABLE'
      | 'OUTCOME_UNKNOWN'
      | 'OFFLINE'
    >();
    expectTypeOf<HealthProxyError>().toExtend<Error>();
    expectTypeOf<HealthProxyError['name']>().toEqualTypeOf<'HealthProxyError'>();
    expectTypeOf<HealthProxyError['code']>().toEqualTypeOf<HealthProxyErrorCode>();
    // The key sent, null when none was, absent on the other codes: what a resend reads.
    expectTypeOf<HealthProxyError['idempotencyKey']>().toEqualTypeOf<string | null | undefined>();
    expectTypeOf<NonNullable<HealthProxyConfig['writes']>['idempotencyKey']>().toEqualTypeOf<string | null | undefined>();
  });

  it('take fetch(path), resolve(path) and canServe(path) with one argument, and type what they return', () => {
    expectTypeOf<HealthProxy['fetch']>().toBeCallableWith('/api/pages');
    expectTypeOf<HealthProxy['fetch']>().toBeCallableWith('/api/notes', { method: 'POST', body: '{}' });
    expectTypeOf<HealthProxy['fetch']>().returns.toEqualTypeOf<Promise<Response>>();
    expectTypeOf<HealthProxy['resolve']>().toBeCallableWith('/api/pages');
    expectTypeOf<HealthProxy['resolve']>().toBeCallableWith('/api/notes', 'POST');
    expectTypeOf<HealthProxy['resolve']>().returns.toEqualTypeOf<string>();
    expectTypeOf<HealthProxy['canServe']>().toBeCallableWith('/api/pages');
    expectTypeOf<HealthProxy['canServe']>().returns.toEqualTypeOf<boolean>();
  });
});

// HealthProxyBackend's translation between HttpClient and proxy.fetch, with a stand-in
// proxy whose fetch returns real Responses: what reaches it after the interceptors, and
// the events, bodies and errors HttpClient callers get back.
import { TestBed } from '@angular/core/testing';
import {
  HttpClient,
  HttpErrorResponse,
  HttpEventType,
  type HttpInterceptorFn,
  provideHttpClient,
  withInterceptors,
} from '@angular/common/http';
import { firstValueFrom, lastValueFrom, toArray } from 'rxjs';
import { HealthProxyService, provideHealthProxy, type HealthProxyConfig } from 'health-proxy/angular';
import { authInterceptor } from './auth.interceptor';

const stamp: HttpInterceptorFn = (req, next) => next(req.clone({ setHeaders: { 'X-Stamp': 'yes' } }));
type Fetch = (url: string, init: RequestInit) => Promise<Response>;

function setup(fetch: Fetch, interceptors: HttpInterceptorFn[] = [authInterceptor, stamp]) {
  const proxy = { fetch: vi.fn(fetch), canServe: () => true };
  // The wasm is not what this file tests: the service hands out the stand-in.
  vi.spyOn(HealthProxyService.prototype as unknown as { _start(): Promise<unknown> }, '_start').mockResolvedValue(proxy);
  TestBed.configureTestingModule({
    providers: [
      provideHttpClient(withInterceptors(interceptors)),
      provideHealthProxy(() => new Promise<HealthProxyConfig>(() => {}), { apiPrefixes: ['/api'] }),
    ],
  });
  return { http: TestBed.inject(HttpClient), proxy };
}

/** The error a request fails with (the test fails if it succeeds). */
const failure = (request: Promise<unknown>) =>
  request.then(
    () => {
      throw new Error('the request succeeded');
    },
    (e: HttpErrorResponse) => e,
  );
const json = (body: unknown, status = 200) => new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });

afterEach(() => {
  TestBed.resetTestingModule();
  vi.restoreAllMocks();
});

describe('HealthProxyBackend', () => {
  for (const [name, order] of [
    ['auth first', [authInterceptor, stamp]],
    ['auth last', [stamp, authInterceptor]],
  ] as const) {
    it(`sends what every interceptor made of the request through proxy.fetch (${name})`, async () => {
      const { http, proxy } = setup(async () => json({ id: 3 }, 201), [...order]);
      expect(await firstValueFrom(http.post('/api/notes', { text: 'hi' }))).toEqual({ id: 3 });
      const [url, init] = proxy.fetch.mock.calls[0];
      expect(url).toBe('/api/notes?token=demo-token');
      expect(init.method).toBe('POST');
      expect(init.body).toBe('{"text":"hi"}');
      expect(init.headers).toMatchObject({ 'X-Stamp': 'yes', 'Content-Type': 'application/json' });
      expect(init.signal).toBeInstanceOf(AbortSignal);
    });
  }

  it('gives observe: "response" the URL that served it', async () => {
    const res = json({ pages: [] });
    Object.defineProperty(res, 'url', { value: 'http://follower.test/api/pages?token=demo-token' });
    const { http } = setup(async () => res);
    const got = await firstValueFrom(http.get('/api/pages', { observe: 'response' }));
    expect(got.url).toBe('http://follower.test/api/pages?token=demo-token');
    expect(got.status).toBe(200);
    expect(got.headers.get('content-type')).toBe('application/json');
  });

  it('reports progress as Angular backends do: sent, headers, each chunk (with partial text), the response', async () => {
    const chunks = ['hello ', 'world'];
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        for (const chunk of chunks) c.enqueue(new TextEncoder().encode(chunk));
        c.close();
      },
    });
    const { http } = setup(async () => new Response(stream, { headers: { 'Content-Length': '11' } }));
    const events = await lastValueFrom(
      http.post('/api/files', 'abc', { observe: 'events', reportProgress: true, responseType: 'text' }).pipe(toArray()),
    );
    expect(events.map((e) => e.type)).toEqual([
      HttpEventType.Sent,
      HttpEventType.UploadProgress,
      HttpEventType.ResponseHeader,
      HttpEventType.DownloadProgress,
      HttpEventType.DownloadProgress,
      HttpEventType.Response,
    ]);
    expect(events[1]).toMatchObject({ loaded: 3, total: 3 });
    expect(events[4]).toMatchObject({ loaded: 11, total: 11, partialText: 'hello world' });
    expect(events[5]).toMatchObject({ body: 'hello world', status: 200 });
  });

  it('reads blob and arraybuffer bodies', async () => {
    const { http } = setup(async () => new Response(new Uint8Array([1, 2, 3]), { headers: { 'Content-Type': 'image/png' } }));
    const blob = await firstValueFrom(http.get('/api/files/a.png', { responseType: 'blob' }));
    expect([blob.type, blob.size]).toEqual(['image/png', 3]);
    const buffer = await firstValueFrom(http.get('/api/files/a.png', { responseType: 'arraybuffer' }));
    expect([...new Uint8Array(buffer)]).toEqual([1, 2, 3]);
  });

  it("turns an error status into an HttpErrorResponse with the server's body", async () => {
    const { http } = setup(async () => json({ error: 'page not found' }, 404));
    const e = await failure(firstValueFrom(http.get('/api/pages/99')));
    expect(e).toBeInstanceOf(HttpErrorResponse);
    expect([e.status, e.error]).toEqual([404, { error: 'page not found' }]);
  });

  it('turns a refusal into status 0 whose error is the HealthProxyError', async () => {
    const refusal = Object.assign(new Error('the leader is unavailable'), { name: 'HealthProxyError', code: 'LEADER_UNAVAILABLE' });
    const { http } = setup(async () => Promise.reject(refusal));
    const e = await failure(firstValueFrom(http.post('/api/notes', {})));
    expect([e.status, e.statusText, e.error]).toEqual([0, 'LEADER_UNAVAILABLE', refusal]);
  });

  it('hands over OUTCOME_UNKNOWN with its idempotencyKey, and a resend with that key keeps it', async () => {
    const key = '0b9a4f5e-8c2d-4e1f-9a7b-3c6d5e4f2a1b';
    const unknown = Object.assign(new Error('POST /api/notes got no answer'), { name: 'HealthProxyError', code: 'OUTCOME_UNKNOWN', idempotencyKey: key });
    const { http, proxy } = setup(async () => Promise.reject(unknown));
    const e = await failure(firstValueFrom(http.post('/api/notes', { text: 'hi' })));
    expect([e.status, e.statusText, e.error.code, e.error.idempotencyKey]).toEqual([0, 'OUTCOME_UNKNOWN', 'OUTCOME_UNKNOWN', key]);
    proxy.fetch.mockImplementation(async () => json({ id: 4 }, 201));
    expect(await firstValueFrom(http.post('/api/notes', { text: 'hi' }, { headers: { 'Idempotency-Key': e.error.idempotencyKey } }))).toEqual({ id: 4 });
    expect(proxy.fetch.mock.calls[1][1].headers).toMatchObject({ 'Idempotency-Key': key });
  });

  it("a write's body cut off after its status fails with the proxy's OUTCOME_UNKNOWN, key included", async () => {
    const cut = Object.assign(new Error('POST /api/notes was answered 201 by the leader, but the rest of the answer did not arrive'), {
      name: 'HealthProxyError',
      code: 'OUTCOME_UNKNOWN',
      idempotencyKey: 'k-1',
    });
    const body = new ReadableStream({ start: (c) => c.error(cut) });
    const { http } = setup(async () => new Response(body, { status: 201, headers: { 'Content-Type': 'application/json' } }));
    const e = await failure(firstValueFrom(http.post('/api/notes', {})));
    expect([e.status, e.error]).toEqual([0, cut]);
    expect(e.error.idempotencyKey).toBe('k-1');
  });

  it('aborts the request when the caller unsubscribes, and at the timeout option', async () => {
    const signals: AbortSignal[] = [];
    const hang: Fetch = (_url, init) =>
      new Promise((_, reject) => {
        signals.push(init.signal!);
        init.signal!.addEventListener('abort', () => reject(init.signal!.reason));
      });
    const { http } = setup(hang);
    const subscription = http.get('/api/pages').subscribe({ error: () => {} });
    await vi.waitFor(() => expect(signals).toHaveLength(1));
    subscription.unsubscribe();
    expect(signals[0].aborted).toBe(true);

    const e = await failure(firstValueFrom(http.get('/api/pages', { timeout: 20 })));
    expect([e.status, (e.error as Error).name]).toEqual([0, 'TimeoutError']);
  });
});

// Unit tests of health-proxy/angular the way an app's own tests use it: TestBed with
// provideHttpClientTesting(), which replaces the HttpBackend provideHealthProxy installs.
import { PLATFORM_ID } from '@angular/core';
import { TestBed } from '@angular/core/testing';
import {
  HttpClient,
  HttpErrorResponse,
  type HttpInterceptorFn,
  provideHttpClient,
  withInterceptors,
} from '@angular/common/http';
import { HttpTestingController, provideHttpClientTesting } from '@angular/common/http/testing';
import { firstValueFrom } from 'rxjs';
import { HealthProxyService, provideHealthProxy, provideHealthProxyWasm, type HealthProxyConfig } from 'health-proxy/angular';
import { authInterceptor } from './auth.interceptor';

const CONFIG: HealthProxyConfig = {
  leader: 'http://127.0.0.1:18601',
  follower: 'http://127.0.0.1:18602',
  routes: [{ prefix: '/api/pages', critical: true }],
};
const stamp: HttpInterceptorFn = (req, next) => next(req.clone({ setHeaders: { 'X-Stamp': 'yes' } }));

afterEach(() => {
  TestBed.resetTestingModule();
  vi.restoreAllMocks();
});

describe('health-proxy/angular under provideHttpClientTesting()', () => {
  for (const [name, interceptors] of [
    ['auth first', [authInterceptor, stamp]],
    ['auth last', [stamp, authInterceptor]],
  ] as const) {
    it(`hands every request to HttpTestingController after all interceptors (${name}), and starts no proxy`, async () => {
      const loadConfig = vi.fn(async () => CONFIG);
      const fetchSpy = vi.spyOn(globalThis, 'fetch');
      TestBed.configureTestingModule({
        providers: [
          provideHttpClient(withInterceptors([...interceptors])),
          provideHealthProxy(loadConfig, { apiPrefixes: ['/api'] }),
          provideHttpClientTesting(),
        ],
      });
      const http = TestBed.inject(HttpClient);
      const controller = TestBed.inject(HttpTestingController);
      const saved = firstValueFrom(http.post<{ id: number }>('/api/notes', { text: 'hi' }));
      const req = controller.expectOne((r) => r.url === '/api/notes');
      expect(req.request.params.get('token')).toBe('demo-token');
      expect(req.request.headers.get('X-Stamp')).toBe('yes');
      req.flush({ id: 7 });
      expect(await saved).toEqual({ id: 7 });
      controller.verify();
      expect(TestBed.inject(HealthProxyService).state()).toBe('unknown');
      expect(loadConfig).not.toHaveBeenCalled();
      expect(fetchSpy).not.toHaveBeenCalled();
    });
  }
});

describe('provideHealthProxy', () => {
  it('requires apiPrefixes, so that no API request silently goes to the page origin', () => {
    expect(() => provideHealthProxy(CONFIG, {} as never)).toThrow(/apiPrefixes/);
    expect(() => provideHealthProxy(CONFIG, { apiPrefixes: ['api'] })).toThrow(/apiPrefixes/);
  });

  it('refuses to start when listed before provideHttpClient (whose HttpBackend would win)', () => {
    TestBed.configureTestingModule({
      providers: [provideHealthProxy(CONFIG, { apiPrefixes: ['/api'] }), provideHttpClient()],
    });
    expect(() => TestBed.inject(HttpClient)).toThrow(/must come after provideHttpClient/);
  });

  it('routes by apiPrefixes on whole segments; absolute URLs not before the proxy exists', () => {
    TestBed.configureTestingModule({
      providers: [provideHttpClient(), provideHealthProxy(CONFIG, { apiPrefixes: ['/api'] }), provideHttpClientTesting()],
    });
    const hp = TestBed.inject(HealthProxyService);
    expect(hp.routes('/api/notes')).toBe(true);
    expect(hp.routes('/api?x=1')).toBe(true);
    expect(hp.routes('api/notes')).toBe(true); // relative to <base href="/">
    expect(hp.routes('/apix/notes')).toBe(false);
    expect(hp.routes('/assets/i18n/en.json')).toBe(false);
    // An absolute URL is the proxy's to classify: not before it exists.
    expect(hp.routes('http://127.0.0.1:18601/api/pages')).toBe(false);
    expect(hp.servedByFollower('http://127.0.0.1:18602/api/pages')).toBe(false);
  });

  it('labels and routes absolute URLs by the proxy’s own base rules: hosts in any case, a route’s own follower base', async () => {
    // The real wasm (from the installed package), whose probes find no network here.
    // @ts-expect-error: Vitest runs in Node; the app's types have no Node modules.
    const { readFile } = await import('node:fs/promises');
    const wasm = await readFile('node_modules/health-proxy/health_proxy_bg.wasm');
    vi.spyOn(globalThis, 'fetch').mockRejectedValue(new TypeError('no network in unit tests'));
    const config: HealthProxyConfig = {
      ...CONFIG,
      follower: 'http://LOCALHOST:18602',
      routes: [...CONFIG.routes!, { prefix: '/files', critical: true, follower: 'https://Bucket.example.com/store/' }],
    };
    TestBed.configureTestingModule({
      providers: [
        provideHttpClient(),
        provideHealthProxy(config, { apiPrefixes: ['/api'], wasmUrl: wasm as unknown as string }),
        provideHttpClientTesting(),
      ],
    });
    const hp = TestBed.inject(HealthProxyService);
    await hp.whenReady();
    expect(hp.state()).not.toBe('direct');
    expect(hp.servedByFollower('http://localhost:18602/api/pages')).toBe(true);
    expect(hp.servedByFollower('https://bucket.example.com/store/files/a.pdf')).toBe(true);
    expect(hp.servedByFollower('http://127.0.0.1:18601/api/pages')).toBe(false);
    expect(hp.servedByFollower('https://bucket.example.com/storeroom/a.pdf')).toBe(false);
    expect(hp.routes('HTTP://127.0.0.1:18601/api/pages')).toBe(true);
    expect(hp.routes('https://BUCKET.example.com/store?x=1')).toBe(true);
    expect(hp.routes('https://cdn.example.com/api/x')).toBe(false);
  });

  it('on the server: no config load, no probe, state unknown, API requests refused with NOT_READY before anything is sent', async () => {
    const loadConfig = vi.fn(async () => CONFIG);
    const fetchSpy = vi.spyOn(globalThis, 'fetch');
    TestBed.configureTestingModule({
      providers: [
        provideHttpClient(),
        provideHealthProxy(loadConfig, { apiPrefixes: ['/api'] }),
        { provide: PLATFORM_ID, useValue: 'server' },
      ],
    });
    const http = TestBed.inject(HttpClient);
    const hp = TestBed.inject(HealthProxyService);
    expect(hp.onServer).toBe(true);
    expect(hp.state()).toBe('unknown');
    expect(hp.canServe('/api/pages')).toBe(false);
    const error = await firstValueFrom(http.get('/api/pages')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HttpErrorResponse);
    expect((error as HttpErrorResponse).status).toBe(0);
    expect((error as HttpErrorResponse).error).toMatchObject({ name: 'HealthProxyError', code: 'NOT_READY' });
    await expect(hp.whenReady()).rejects.toMatchObject({ code: 'NOT_READY' });
    expect(loadConfig).not.toHaveBeenCalled();
    expect(fetchSpy).not.toHaveBeenCalled();
  });

  it('in dev mode, warns once per segment about a page-relative request under no API prefix, and sends it with Angular’s backend', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    vi.spyOn(console, 'error').mockImplementation(() => {}); // the wasm has no URL under jsdom
    TestBed.configureTestingModule({
      providers: [
        provideHttpClient(),
        // A config that never arrives: the proxy is never constructed, which this test does not need.
        provideHealthProxy(() => new Promise<HealthProxyConfig>(() => {}), { apiPrefixes: ['/api'] }),
      ],
    });
    const http = TestBed.inject(HttpClient);
    const outcome = await firstValueFrom(http.get('/assets/a.json')).catch((e: unknown) => e);
    await firstValueFrom(http.get('/assets/b.json')).catch((e: unknown) => e);
    // Angular's XHR backend tried it (jsdom has no server there): an HTTP error, not a refusal.
    expect(outcome).toBeInstanceOf(HttpErrorResponse);
    expect((outcome as HttpErrorResponse).error?.name).not.toBe('HealthProxyError');
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0][0])).toMatch(/GET \/assets\/a\.json is under none of apiPrefixes \["\/api"\]/);
  });

  it('tries a failed start (config.json unreachable) again on the next request; a wasm that cannot run leaves the leader-only stand-in', async () => {
    const error = vi.spyOn(console, 'error').mockImplementation(() => {});
    const loadConfig = vi.fn<() => Promise<HealthProxyConfig>>()
      .mockRejectedValueOnce(new Error('config.json: HTTP 503'))
      .mockResolvedValue(CONFIG);
    const fetchSpy = vi.spyOn(globalThis, 'fetch').mockImplementation(async (input) => {
      const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
      // The API on the leader answers; the wasm is missing (a deploy without pkg/).
      return url.startsWith(CONFIG.leader)
        ? new Response('{"pages":[]}', { status: 200, headers: { 'Content-Type': 'application/json' } })
        : new Response('Not Found', { status: 404 });
    });
    TestBed.configureTestingModule({
      providers: [provideHttpClient(), provideHealthProxy(loadConfig, { apiPrefixes: ['/api'] })],
    });
    const http = TestBed.inject(HttpClient);
    const hp = TestBed.inject(HealthProxyService);
    // The start at bootstrap fails: config.json did not load.
    await vi.waitFor(() => expect(error).toHaveBeenCalledWith('health-proxy could not start:', expect.any(Error)));
    expect(await firstValueFrom(http.get('/api/pages'))).toEqual({ pages: [] });
    expect(loadConfig).toHaveBeenCalledTimes(2);
    expect(hp.state()).toBe('direct');
    expect(fetchSpy).toHaveBeenCalledWith(`${CONFIG.leader}/api/pages`, expect.anything());
    expect(String(error.mock.calls.at(-1)?.[0])).toMatch(/answered HTTP 404/);
  });

  it('fetches the wasm from the URL main.ts gives provideHealthProxyWasm (the hashed name), not health_proxy_bg.wasm', async () => {
    const error = vi.spyOn(console, 'error').mockImplementation(() => {});
    const fetchSpy = vi.spyOn(globalThis, 'fetch').mockResolvedValue(new Response('Not Found', { status: 404 }));
    TestBed.configureTestingModule({
      providers: [
        provideHttpClient(),
        provideHealthProxy(CONFIG, { apiPrefixes: ['/api'] }),
        provideHealthProxyWasm('./media/health_proxy_bg-ABCD1234.wasm'),
      ],
    });
    const hp = TestBed.inject(HealthProxyService);
    await hp.whenReady();
    await vi.waitFor(() => expect(hp.state()).toBe('direct'));
    expect(fetchSpy.mock.calls.map(([input]) => String(input))).toEqual(['./media/health_proxy_bg-ABCD1234.wasm']);
    expect(String(error.mock.calls.at(-1)?.[0])).toMatch(/health_proxy_bg-ABCD1234\.wasm\) answered HTTP 404/);
  });
});

import { ApplicationConfig, provideBrowserGlobalErrorListeners } from '@angular/core';
import { provideClientHydration } from '@angular/platform-browser';
import { provideHttpClient, withFetch, withInterceptors } from '@angular/common/http';
import { provideHealthProxy, type HealthProxyConfig } from 'health-proxy/angular';
import { authInterceptor } from './auth.interceptor';

export const appConfig: ApplicationConfig = {
  providers: [
    provideBrowserGlobalErrorListeners(),
    // Without withEventReplay(): its inline script is blocked by a CSP without 'unsafe-inline'.
    provideClientHydration(),
    provideHttpClient(withFetch(), withInterceptors([authInterceptor])),
    // After provideHttpClient: it replaces HttpBackend, so every interceptor above runs
    // first. The wasm and config.json load in the background; the app renders at once.
    provideHealthProxy(
      async () => (await fetch('config.json', { cache: 'no-store' })).json() as Promise<HealthProxyConfig>,
      { apiPrefixes: ['/api'] },
    ),
  ],
};

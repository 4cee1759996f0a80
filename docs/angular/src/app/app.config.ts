import { ApplicationConfig, provideBrowserGlobalErrorListeners } from '@angular/core';
import { provideRouter } from '@angular/router';
import { provideClientHydration } from '@angular/platform-browser';
import { provideHttpClient, withFetch, withInterceptors } from '@angular/common/http';
import { provideHealthProxy, type HealthProxyConfig } from 'health-proxy/angular';

import { routes } from './app.routes';

export const appConfig: ApplicationConfig = {
  providers: [
    provideBrowserGlobalErrorListeners(),
    provideRouter(routes),
    // Generated as provideClientHydration(withEventReplay()): event replay inlines a
    // script in index.html, which a CSP without 'unsafe-inline' blocks.
    provideClientHydration(),
    provideHttpClient(withFetch(), withInterceptors([])), // your interceptors, in any order
    provideHealthProxy(
      async () => (await fetch('config.json', { cache: 'no-store' })).json() as Promise<HealthProxyConfig>,
      { apiPrefixes: ['/api'] },
    ),
  ],
};

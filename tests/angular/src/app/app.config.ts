import { ApplicationConfig, provideZonelessChangeDetection } from '@angular/core';
import { provideHttpClient, withInterceptors } from '@angular/common/http';
import { healthProxyInterceptor, provideHealthProxy, type HealthProxyConfig } from 'health-proxy/angular';

export const appConfig: ApplicationConfig = {
  providers: [
    provideZonelessChangeDetection(),
    provideHttpClient(withInterceptors([healthProxyInterceptor])),
    // Loads the wasm (copied to the site root by angular.json's assets) and awaits
    // start() before the first render.
    provideHealthProxy(async () => (await fetch('config.json', { cache: 'no-store' })).json() as Promise<HealthProxyConfig>),
  ],
};

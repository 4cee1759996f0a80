import { mergeApplicationConfig } from '@angular/core';
import { bootstrapApplication } from '@angular/platform-browser';
import { provideHealthProxyWasm } from 'health-proxy/angular';
// The builder emits the wasm as media/health_proxy_bg-<hash>.wasm (cached for a year) and
// gives its URL. Here, in the browser's entry only: see provideHealthProxyWasm.
import wasmUrl from 'health-proxy/health_proxy_bg.wasm' with { loader: 'file' };
import { App } from './app/app';
import { appConfig } from './app/app.config';

bootstrapApplication(App, mergeApplicationConfig(appConfig, { providers: [provideHealthProxyWasm(wasmUrl)] })).catch((err) => {
  // A provider mistake (e.g. provideHealthProxy before provideHttpClient): say so on the page.
  document.body.textContent = `The app could not start: ${err?.message ?? err}`;
  console.error(err);
});

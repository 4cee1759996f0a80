import { mergeApplicationConfig } from '@angular/core';
import { bootstrapApplication } from '@angular/platform-browser';
import { provideHealthProxyWasm } from 'health-proxy/angular';
import wasmUrl from 'health-proxy/health_proxy_bg.wasm' with { loader: 'file' };
import { appConfig } from './app/app.config';
import { App } from './app/app';

bootstrapApplication(App, mergeApplicationConfig(appConfig, { providers: [provideHealthProxyWasm(wasmUrl)] }))
  .catch((err) => console.error(err));

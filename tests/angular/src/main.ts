import { bootstrapApplication } from '@angular/platform-browser';
import { App } from './app/app';
import { appConfig } from './app/app.config';

bootstrapApplication(App, appConfig).catch((err) => {
  // A provider mistake (e.g. provideHealthProxy before provideHttpClient): say so on the page.
  document.body.textContent = `The app could not start: ${err?.message ?? err}`;
  console.error(err);
});

import { bootstrapApplication } from '@angular/platform-browser';
import { App } from './app/app';
import { appConfig } from './app/app.config';

bootstrapApplication(App, appConfig).catch((err) => {
  // INVALID_CONFIG and friends: say so on the page rather than a blank screen.
  document.body.textContent = `The app could not start: ${err?.code ?? err?.name ?? ''} ${err?.message ?? err}`;
  console.error(err);
});

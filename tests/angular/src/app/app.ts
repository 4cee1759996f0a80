import { Component, computed, effect, inject, signal, untracked } from '@angular/core';
import { HttpClient, HttpErrorResponse } from '@angular/common/http';
import { HealthProxyService, type HealthProxyError } from 'health-proxy/angular';

interface Page {
  id: number;
  title: string;
}
interface Link {
  title: string;
  href: string;
}

const LABELS = {
  unknown: 'Checking…',
  leader: 'On our server',
  emergency: 'Emergency mode (AWS, read-only)',
  offline: 'Offline',
  direct: 'On our server (no failover)',
};

@Component({
  selector: 'app-root',
  template: `
    <header>
      <h1>Acme Hub</h1>
      <span id="state" class="badge" [attr.data-state]="hp.state()">{{ label() }}</span>
    </header>
    @if (hp.state() === 'direct') {
      <p id="notice" class="notice" role="status">
        Automatic failover is unavailable on this page: everything is served by our server.
      </p>
    }

    <section>
      <h2>Handbook <button id="refresh" type="button" (click)="loadPages()">Refresh</button></h2>
      @if (pagesFrom() === 'follower') {
        <p id="pages-origin" class="stale">Served by the follower (AWS), may be out of date.</p>
      } @else if (pagesFrom() === 'leader') {
        <p id="pages-origin">From our server.</p>
      }
      <ul id="pages">
        @for (page of pages(); track page.id) {
          <li>{{ page.title }}</li>
        }
      </ul>
      @if (pagesError()) {
        <p id="pages-error" class="error">{{ pagesError() }}</p>
      }
    </section>

    <section>
      <h2>Leave a note</h2>
      <form (submit)="post($event, note)">
        <input #note id="note" name="note" placeholder="A note for the team" />
        <button id="send" type="submit">Post note</button>
      </form>
      <p id="note-result" [class.error]="noteFailed()">{{ noteResult() }}</p>
    </section>

    <section>
      <h2>Account <button id="whoami-check" type="button" (click)="whoAmI()">Who am I?</button></h2>
      <p id="whoami">{{ whoami() }}</p>
    </section>

    @if (hubVisible()) {
      <section id="hub">
        <h2>Hub</h2>
        <ul>
          @for (link of links(); track link.href) {
            <li><a [href]="link.href">{{ link.title }}</a></li>
          }
        </ul>
      </section>
    }
  `,
})
export class App {
  readonly hp = inject(HealthProxyService);
  private readonly http = inject(HttpClient);

  readonly label = computed(() => LABELS[this.hp.state()]);
  readonly pages = signal<Page[]>([]);
  readonly pagesFrom = signal<'leader' | 'follower' | null>(null);
  readonly pagesError = signal('');
  readonly links = signal<Link[]>([]);
  readonly hubVisible = computed(() => this.hp.state() === 'leader' && this.hp.canServe('/api/hub/links'));
  readonly whoami = signal('');
  readonly noteResult = signal('');
  readonly noteFailed = signal(false);

  private pagesBusy = false;

  constructor() {
    effect(() => {
      const state = this.hp.state();
      untracked(() => this.syncPages(state));
      if (this.hubVisible()) this.loadLinks();
    });
  }

  /**
   * The handbook once per page view, and again only when the side that should serve it
   * changes: back on the leader after the follower served it (or after a failure). In an
   * outage each read is a billed follower request.
   */
  private syncPages(state: string): void {
    const from = this.pagesFrom();
    if (this.pagesBusy || from === 'leader' || (from === 'follower' && state !== 'leader')) return;
    this.pagesBusy = true;
    this.loadPages(() => {
      this.pagesBusy = false;
      // The verdict moved on while the read was out (the first one, mostly): look again.
      const now = this.hp.state();
      if (now !== state) this.syncPages(now);
    });
  }

  loadPages(done?: () => void): void {
    this.http.get<{ pages: Page[] }>('/api/pages', { observe: 'response' }).subscribe({
      next: (res) => {
        this.pages.set(res.body?.pages ?? []);
        this.pagesFrom.set(this.hp.servedByFollower(res.url ?? '') ? 'follower' : 'leader');
        this.pagesError.set('');
        done?.();
      },
      error: (e: HttpErrorResponse) => {
        // NOT_READY: rendering on the server, where nothing is routed; the browser loads it.
        if (!notReady(e)) this.pagesError.set(`Could not load the handbook: ${describe(e)}`);
        done?.();
      },
    });
  }

  /** What the leader saw of this request: the auth interceptor's token must be there. */
  whoAmI(): void {
    this.http.get<{ path: string }>('/api/echo').subscribe({
      next: (echo) => this.whoami.set(`The API saw ${echo.path}`),
      error: (e: HttpErrorResponse) => this.whoami.set(`Not available: ${describe(e)}`),
    });
  }

  loadLinks(): void {
    this.http.get<{ links: Link[] }>('/api/hub/links').subscribe({
      next: (body) => this.links.set(body.links),
      error: () => this.links.set([]),
    });
  }

  post(event: Event, input: HTMLInputElement): void {
    event.preventDefault();
    const text = input.value.trim() || 'empty note';
    const clientId = `ng-${Date.now()}-${Math.random().toString(16).slice(2)}`;
    this.noteFailed.set(false);
    this.noteResult.set('Sending…');
    this.http.post<{ id: number }>('/api/notes', { text, clientId }).subscribe({
      next: (res) => {
        this.noteFailed.set(false);
        this.noteResult.set(`Saved as note #${res.id}.`);
        input.value = '';
      },
      error: (e: HttpErrorResponse) => {
        this.noteFailed.set(true);
        this.noteResult.set(`Not saved: ${describe(e)}`);
      },
    });
  }
}

function notReady(e: HttpErrorResponse): boolean {
  return (e.error as Partial<HealthProxyError> | null)?.code === 'NOT_READY';
}

/** A refusal carries the HealthProxyError (with its code); anything else is HTTP. */
function describe(e: HttpErrorResponse): string {
  const proxyError = e.error as Partial<HealthProxyError> | null;
  return proxyError?.name === 'HealthProxyError' ? `${proxyError.code}: ${proxyError.message}` : `HTTP ${e.status}`;
}

import { Component, afterNextRender, inject, signal } from '@angular/core';
import { toObservable, toSignal } from '@angular/core/rxjs-interop';
import { HttpClient, HttpErrorResponse } from '@angular/common/http';
import { catchError, map, of, switchMap } from 'rxjs';
import { HealthProxyService } from 'health-proxy/angular';

@Component({
  selector: 'app-root',
  template: `
    <p id="state">{{ hp.state() }}</p>
    @if (stale()) { <p>Served by the follower: may be out of date.</p> }
    <ul id="pages">
      @for (page of pages(); track page.id) { <li>{{ page.title }}</li> }
    </ul>
    <button id="send" (click)="post()">Post a note</button>
    @if (unconfirmed(); as u) { <button id="send-again" (click)="post(u.note, u.key)">Send again</button> }
    <p id="note-result">{{ noteResult() }}</p>
    <ul id="hub">
      @for (link of links(); track link.href) { <li><a [href]="link.href">{{ link.title }}</a></li> }
    </ul>
  `,
})
export class App {
  protected readonly hp = inject(HealthProxyService);
  private readonly http = inject(HttpClient);
  protected readonly pages = signal<{ id: number; title: string }[]>([]);
  protected readonly stale = signal(false);
  protected readonly noteResult = signal('');
  // A non-critical read that follows the state: fetched on each arrival on the leader,
  // cancelled (switchMap unsubscribes, which aborts the request) on leaving it, and not
  // sent at all elsewhere (nor while prerendering: the state stays 'unknown' there).
  protected readonly links = toSignal(
    toObservable(this.hp.state).pipe(
      switchMap((state) =>
        state !== 'leader'
          ? of([])
          : this.http.get<{ links: { title: string; href: string }[] }>('/api/hub/links').pipe(
              map((body) => body.links),
              catchError(() => of([])),
            ),
      ),
    ),
    { initialValue: [] },
  );
  protected readonly unconfirmed = signal<{ note: { text: string; clientId: string }; key: string } | null>(null);

  constructor() {
    // In the browser only: while prerendering there is no verdict and nothing is sent.
    // Once per page view: an outage view costs one follower read, not one per state change.
    afterNextRender(() => this.load());
  }

  load(): void {
    // observe: 'response' gives res.url, which tells who served it.
    this.http.get<{ pages: { id: number; title: string }[] }>('/api/pages', { observe: 'response' }).subscribe((res) => {
      this.pages.set(res.body?.pages ?? []);
      this.stale.set(this.hp.servedByFollower(res.url));
    });
  }

  // A resend passes the same note and the first attempt's key.
  post(note: { text: string; clientId: string } = { text: 'hello', clientId: crypto.randomUUID() }, key?: string): void {
    const headers: Record<string, string> = key ? { 'Idempotency-Key': key } : {};
    this.unconfirmed.set(null);
    this.http.post<{ id: number }>('/api/notes', note, { headers }).subscribe({
      next: (res) => this.noteResult.set(`Saved as note #${res.id}`),
      error: (e: HttpErrorResponse) => {
        if (e.error?.code === 'OUTCOME_UNKNOWN') {
          // Sent, or maybe sent, with no answer: it may have been saved, so never "Not saved".
          // Sending it again with its key is safe: the leader answers with its first answer.
          if (e.error.idempotencyKey) this.unconfirmed.set({ note, key: e.error.idempotencyKey });
          this.noteResult.set('We could not confirm this note — it may have been saved.');
        } else {
          // A refusal: status 0, and error is the HealthProxyError (LEADER_UNAVAILABLE: not sent, …).
          this.noteResult.set(`Not saved: ${e.error?.code ?? `HTTP ${e.status}`}`);
        }
      },
    });
  }
}

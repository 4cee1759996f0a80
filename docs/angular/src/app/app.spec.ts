import { TestBed } from '@angular/core/testing';
import { provideHttpClient } from '@angular/common/http';
import { HttpTestingController, provideHttpClientTesting } from '@angular/common/http/testing';
import { provideHealthProxy } from 'health-proxy/angular';
import { App } from './app';

describe('App', () => {
  it('lists the pages', async () => {
    TestBed.configureTestingModule({
      providers: [
        provideHttpClient(),
        provideHealthProxy({ leader: 'https://hub.example.com', follower: 'https://aws.example.com' }, { apiPrefixes: ['/api'] }),
        provideHttpClientTesting(),
      ],
    });
    const fixture = TestBed.createComponent(App);
    await fixture.whenStable();
    TestBed.inject(HttpTestingController).expectOne('/api/pages').flush({ pages: [{ id: 1, title: 'Welcome' }] });
    await fixture.whenStable();
    expect((fixture.nativeElement as HTMLElement).querySelector('#pages li')?.textContent).toBe('Welcome');
  });
});

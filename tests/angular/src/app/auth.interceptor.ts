import { HttpInterceptorFn } from '@angular/common/http';

/** A stand-in for an app's own auth interceptor: adds its token to every API request. */
export const authInterceptor: HttpInterceptorFn = (req, next) =>
  req.url.startsWith('/api/') ? next(req.clone({ setParams: { token: 'demo-token' } })) : next(req);

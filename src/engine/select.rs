//! Waiting on two futures at once, keeping the one that has not finished (to await it
//! later, or to drop it: dropping an unfinished request aborts it). futures-util's
//! `select` has this shape too, but panics when polled after it finished; this one
//! stays pending instead, so no path of the library reaches a panic.

use ::core::future::Future;
use ::core::pin::Pin;
use ::core::task::{Context, Poll};

pub enum Either<A, B> {
    Left(A),
    Right(B),
}

/// Resolves with the first of `a` and `b` to finish, together with the other one.
pub fn select<A, B>(a: A, b: B) -> Select<A, B>
where
    A: Future + Unpin,
    B: Future + Unpin,
{
    Select {
        a: Some(a),
        b: Some(b),
    }
}

pub struct Select<A, B> {
    a: Option<A>,
    b: Option<B>,
}

impl<A: Future + Unpin, B: Future + Unpin> Future for Select<A, B> {
    type Output = Either<(A::Output, B), (B::Output, A)>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        if let Some(a) = this.a.as_mut() {
            if let Poll::Ready(out) = Pin::new(a).poll(cx) {
                this.a = None;
                if let Some(b) = this.b.take() {
                    return Poll::Ready(Either::Left((out, b)));
                }
            }
        }
        if let Some(b) = this.b.as_mut() {
            if let Poll::Ready(out) = Pin::new(b).poll(cx) {
                this.b = None;
                if let Some(a) = this.a.take() {
                    return Poll::Ready(Either::Right((out, a)));
                }
            }
        }
        Poll::Pending
    }
}

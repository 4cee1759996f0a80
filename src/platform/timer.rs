//! A one-shot `setTimeout` whose handle clears the timer when dropped (as gloo-timers),
//! so stopping the proxy can never leave a timer behind.

use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    // Node returns an object, browsers a number: keep it opaque.
    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout(handler: &js_sys::Function, ms: i32) -> JsValue;
    #[wasm_bindgen(js_name = clearTimeout)]
    fn clear_timeout(id: &JsValue);
}

pub struct Timeout {
    id: JsValue,
    _callback: Closure<dyn FnMut()>,
}

impl Timeout {
    pub fn new(ms: u32, f: impl FnOnce() + 'static) -> Timeout {
        let mut f = Some(f);
        let callback = Closure::<dyn FnMut()>::new(move || {
            if let Some(f) = f.take() {
                f();
            }
        });
        let ms = i32::try_from(ms).unwrap_or(i32::MAX);
        let id = set_timeout(callback.as_ref().unchecked_ref(), ms);
        Timeout {
            id,
            _callback: callback,
        }
    }
}

impl Drop for Timeout {
    fn drop(&mut self) {
        clear_timeout(&self.id);
    }
}

/// A future that completes after `ms`; dropping it clears the timer.
pub struct Sleep {
    _timeout: Timeout,
    done: wasm_bindgen_futures::JsFuture,
}

pub fn sleep(ms: u32) -> Sleep {
    let mut resolve_slot: Option<js_sys::Function> = None;
    let promise = js_sys::Promise::new(&mut |resolve, _reject| resolve_slot = Some(resolve));
    let timeout = Timeout::new(ms, move || {
        if let Some(resolve) = resolve_slot {
            let _ = resolve.call0(&JsValue::NULL);
        }
    });
    Sleep {
        _timeout: timeout,
        done: wasm_bindgen_futures::JsFuture::from(promise),
    }
}

impl ::core::future::Future for Sleep {
    type Output = ();

    fn poll(
        mut self: ::core::pin::Pin<&mut Self>,
        cx: &mut ::core::task::Context<'_>,
    ) -> ::core::task::Poll<()> {
        ::core::pin::Pin::new(&mut self.done).poll(cx).map(|_| ())
    }
}

//! health-proxy: a per-browser switch between a cheap leader server and an always-up
//! follower replica (see `README.md` and the product spec).
//!
//! Layout: [`core`] is the pure decision logic (no web APIs, tested natively);
//! `platform` wraps the web APIs it needs (fetch with abort, timers, storage);
//! `engine` runs probes and requests by combining the two; `js` is the thin
//! `#[wasm_bindgen]` surface.

// `no_std` (with `alloc`): std's panic handler formats its message, which links in
// `core::fmt` (with `format!` gone too, the package lost 1.4 KB gzipped). The
// `standalone` feature, for the package build, supplies a handler that just traps;
// without it std is linked as usual (tests, or embedding in another module).
#![no_std]
// A panic in wasm aborts the module and leaves the page without routing.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing,
        clippy::unreachable,
        clippy::todo,
        clippy::unimplemented
    )
)]

extern crate alloc;
#[cfg(any(test, not(all(target_arch = "wasm32", feature = "standalone"))))]
#[cfg_attr(test, macro_use)]
extern crate std;

pub mod core;

/// What std's prelude gives every module, for a `no_std` crate.
#[allow(unused_imports)]
mod prelude {
    pub use alloc::borrow::ToOwned;
    pub use alloc::boxed::Box;
    pub use alloc::string::{String, ToString};
    pub use alloc::vec;
    pub use alloc::vec::Vec;
}

/// Only reached by a bug: clippy denies the explicit panics, and there is nobody to read a
/// message, so trap without formatting one.
#[cfg(all(target_arch = "wasm32", feature = "standalone", not(test)))]
#[panic_handler]
fn panic(_: &::core::panic::PanicInfo<'_>) -> ! {
    ::core::arch::wasm32::unreachable()
}

#[cfg(all(
    target_arch = "wasm32",
    not(target_feature = "atomics"),
    feature = "small-allocator"
))]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

#[cfg(target_arch = "wasm32")]
mod engine;
#[cfg(target_arch = "wasm32")]
mod js;
#[cfg(target_arch = "wasm32")]
mod platform;

#[cfg(target_arch = "wasm32")]
pub use js::HealthProxy;

//! health-proxy: a per-browser switch between a cheap leader server and an always-up
//! follower replica (see `README.md`, `docs/` and the product spec).
//!
//! Layout: `model` is the data model and every decision, pure (no web APIs, tested
//! natively); `platform` wraps the web APIs it needs (one checked fetch with an
//! abort guard, timers, storage, tab election); `engine` runs probes and requests by
//! combining the two; `js` is the thin `#[wasm_bindgen]` surface.

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

// Natively the model is built for its tests only: the engine that drives it is wasm-only.
#[cfg(any(target_arch = "wasm32", test))]
pub(crate) mod model;

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

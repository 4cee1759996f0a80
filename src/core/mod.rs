//! The pure core: every decision health-proxy makes, with time and randomness passed in.
//! Nothing here touches a web API, so all of it is tested natively with `cargo test`.

pub mod backoff;
pub mod cache;
pub mod config;
pub mod error;
pub mod health;
pub mod machine;
pub mod path;
pub mod routes;
pub mod routing;
pub mod state;
pub mod text;
pub mod value;

pub use config::Config;
pub use error::{ErrorCode, HealthProxyError};
pub use state::{Snapshot, Source, State};

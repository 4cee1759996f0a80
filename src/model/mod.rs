//! The data model and every decision health-proxy makes, with time and randomness
//! passed in. Nothing here touches a web API, so all of it is tested natively.

pub(crate) mod backoff;
pub(crate) mod budget;
pub(crate) mod cache;
pub(crate) mod config;
pub(crate) mod error;
pub(crate) mod health;
pub(crate) mod hint;
pub(crate) mod machine;
pub(crate) mod offline;
pub(crate) mod path;
pub(crate) mod plan;
pub(crate) mod policy;
pub(crate) mod report;
pub(crate) mod route_table;
pub(crate) mod rtt;
pub(crate) mod schema;
pub(crate) mod sending;
pub(crate) mod state;
pub(crate) mod tabs;
pub(crate) mod target;

#[cfg_attr(not(target_arch = "wasm32"), allow(unused_imports))]
pub(crate) use config::Config;
#[cfg_attr(not(target_arch = "wasm32"), allow(unused_imports))]
pub(crate) use error::{ErrorCode, HealthProxyError};
#[cfg_attr(not(target_arch = "wasm32"), allow(unused_imports))]
pub(crate) use state::{Snapshot, Source, State};

//! The web APIs health-proxy uses, reached through `globalThis` (not `window`) so the
//! package also runs in Web Workers and in Node: fetch with an abort guard, timers that
//! clear on drop, Web Storage that degrades to memory.

pub mod channel;
pub mod election;
pub mod env;
pub mod http;
pub mod storage;
pub mod timer;

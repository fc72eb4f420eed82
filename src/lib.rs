//! pvr: when does pruning benefit vision representations?
//!
//! A declarative pipeline runner: an experiment TOML ([`spec`]) compiles into a DAG of
//! content-hashed stages ([`graph`]), executed ([`exec`]) with results kept in an atomic,
//! verified cache ([`cache`]) and written as Parquet reports ([`report`]).

pub mod attribution;
pub mod backend;
pub mod cache;
pub mod cli;
pub mod data;
pub mod exec;
pub mod graph;
pub mod ha;
pub mod lost;
pub mod metrics;
pub mod models;
pub mod prune;
pub mod report;
pub mod spec;
pub mod stages;
pub mod train;

/// Version of the on-disk cache layout and stage-key encoding. Bump it to invalidate every entry.
pub const CACHE_SCHEMA_VERSION: u32 = 1;
/// pvr's own version, recorded in manifests.
pub const PVR_VERSION: &str = env!("CARGO_PKG_VERSION");

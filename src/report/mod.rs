//! Reports: tidy Parquet tables (one row per observation), a Markdown summary and PNG figures.

pub mod figures;
pub mod npy;
pub mod plot;
pub mod pool;
pub mod summary;
pub mod tables;

pub use pool::{LayerRow, PoolRow};

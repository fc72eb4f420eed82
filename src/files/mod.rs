//! The file formats pvr reads and writes besides its cache's: `.npy` arrays (attribution maps
//! and masks) and Parquet tables; and the crash-safe writes (`atomic`) every durable file
//! goes through.

pub mod atomic;
pub mod npy;
pub mod tables;

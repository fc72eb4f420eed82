//! The file formats pvr reads and writes besides its cache's: `.npy` arrays (attribution maps
//! and masks) and Parquet tables.

pub mod npy;
pub mod tables;

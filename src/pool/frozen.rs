//! A pool member prepared for analysis: frozen weights, so its pruned convolutions may run on
//! sparse kernels ([`crate::models::sparse`]).

use anyhow::anyhow;

use crate::models::Network;
use crate::models::sparse::SparsePolicy;

/// `network` with sparse kernels where its measured sparsity passes the crossover, under the
/// policy of `PVR_SPARSE` (`auto` when unset; `off` runs everything dense). For stages that only
/// read the network (evaluation, analyses), after any move to their device. Results equal the
/// dense path up to float rounding (1e-5 relative), so `PVR_SPARSE` is not part of any stage key;
/// the stages that call this bumped their versions once when they started to.
pub fn frozen_network(network: Network) -> anyhow::Result<Network> {
    let policy = SparsePolicy::from_env().map_err(|message| anyhow!(message))?;
    Ok(network.with_sparse_kernels(policy).0)
}

//! What the model stages of one experiment share: the network, the device, the recipe and the
//! data every pool member is trained and evaluated on.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::backend::DeviceChoice;
use crate::data::Dataset;
use crate::data::root::Opened;
use crate::models::NetworkConfig;
use crate::models::params::ParamInfo;
use crate::spec::TrainSpec;

/// What the model stages of one experiment share.
pub struct ModelContext {
    pub network: NetworkConfig,
    pub device: DeviceChoice,
    /// Where training stages run, data-parallel (`experiment.devices`; else `device` alone).
    pub train_devices: Vec<DeviceChoice>,
    pub seed: u64,
    pub recipe: TrainSpec,
    /// The splits, or why they cannot be read: planning needs neither, the stages that read
    /// them fail with the reason.
    pub train_data: Opened<Arc<dyn Dataset>>,
    pub val_data: Opened<Arc<dyn Dataset>>,
    /// Class names for reports, known even while the data is missing (ImageNet's).
    pub class_names: Vec<String>,
    /// The parameters pruning may touch, after include/exclude.
    pub prunable: Vec<ParamInfo>,
}

impl ModelContext {
    /// The same pool trained from training seed `seed`.
    pub fn with_seed(&self, seed: u64) -> ModelContext {
        ModelContext {
            network: self.network.clone(),
            device: self.device,
            train_devices: self.train_devices.clone(),
            seed,
            recipe: self.recipe.clone(),
            train_data: self.train_data.clone(),
            val_data: self.val_data.clone(),
            class_names: self.class_names.clone(),
            prunable: self.prunable.clone(),
        }
    }

    /// Revisions that moved one architecture's results alone, added to the versions of the
    /// stages that train or run the network so that the other architectures keep their keys.
    /// The transformers' first: their linear layers' weight gradients come from one GEMM over
    /// every row (`models::fused_linear`), equal to Burn's per-batch sums up to float rounding,
    /// and their GELU and attention softmax from `models::fast_gelu` and `models::fast_softmax`,
    /// within 3e-7 and 1e-6 of Burn's. The ResNets' first: a stride-1 convolution's input
    /// gradient comes from a convolution on GEMMs (`models::gemm_conv::input_grad`) and every
    /// weight gradient from the transposed product over channel-major patches, equal to the
    /// earlier ones up to float rounding. Both, together: gemm's AVX-512 kernels where the CPU
    /// has them (its `x86-v4` feature), which sum in other blocks.
    pub fn arch_revision(&self) -> u32 {
        const TRANSFORMERS: u32 = 2;
        const RESNETS: u32 = 1;
        if self.network.arch.is_transformer() {
            TRANSFORMERS
        } else {
            RESNETS
        }
    }

    /// A training stage's key: its own `params` (an object), then what every training of this
    /// pool reads (recipe, seed, device family, training data) and its replicas.
    pub fn training_key(&self, mut params: serde_json::Value) -> serde_json::Value {
        params["recipe"] = serde_json::json!(self.recipe);
        params["seed"] = serde_json::json!(self.seed);
        params["device"] = serde_json::json!(self.device.family());
        params["train_data"] = serde_json::json!(self.train_data.fingerprint());
        self.add_replicas_to_key(&mut params);
        params
    }

    /// Adds to a training stage's key what its devices change beyond the last digits: with
    /// per-device batch norm, each replica normalises by the statistics of its share of the
    /// batch, so the replica count changes the trained weights; without batch norm, or with it
    /// synchronised (`train.sync_bn`), data-parallel steps equal the one-device step up to
    /// rounding, and the key stays that of one device.
    fn add_replicas_to_key(&self, params: &mut serde_json::Value) {
        let replicas = self.train_devices.len();
        if replicas > 1 && !self.network.arch.is_transformer() && !self.recipe.sync_bn {
            params["replicas"] = serde_json::json!(replicas);
        }
    }

    /// Why a stage reading the training split cannot run, if it cannot.
    pub fn train_data_missing(&self) -> Option<String> {
        self.train_data.problem().map(ToString::to_string)
    }

    /// Why a stage reading the validation split cannot run, if it cannot.
    pub fn val_data_missing(&self) -> Option<String> {
        self.val_data.problem().map(ToString::to_string)
    }

    /// Paths of the prunable parameters, in model order (stage keys record them).
    pub fn prunable_paths(&self) -> Vec<&str> {
        self.prunable.iter().map(|p| p.path.as_str()).collect()
    }

    /// Shapes of the prunable parameters by path.
    pub fn prunable_shapes(&self) -> BTreeMap<String, Vec<usize>> {
        self.prunable
            .iter()
            .map(|p| (p.path.clone(), p.shape.clone()))
            .collect()
    }
}

/// Each round retrains with its own data order, derived from the experiment seed.
pub fn round_seed(seed: u64, round: usize) -> u64 {
    seed ^ (round as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

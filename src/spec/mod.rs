//! The experiment specification: a TOML file, deserialized into typed sections with defaults.
//!
//! Plain data: this module imports nothing else of pvr. Every key is documented in
//! `docs/spec.md`. Parsing (with file/line/column errors and `--set` overrides) lives in
//! [`load`]; the core sections' range checks in [`validate`]; the parts of pvr that own a
//! section (the device, the architecture, each analysis) check it themselves, and
//! the `pipeline` module runs every check through [`load_spec`]'s validator.

pub mod attribution;
mod data;
pub mod executor;
pub mod ha;
mod load;
mod locate;
pub mod lost;
mod names;
pub mod presets;
mod problems;
mod validate;

pub use attribution::AttributionSpec;
pub use data::{BadImagePolicy, DataSource, DataSpec};
pub use ha::{HaDataset, HaSpec};
pub use load::{Override, SpecError, Validator, load_spec, parse_spec};
pub use lost::{LostDataset, LostSpec};
pub use problems::Problems;
pub use validate::{MAX_BATCH, MAX_IMAGES, MAX_ROUNDS, check_batch, check_images, validate_core};

use serde::{Deserialize, Serialize};

/// A whole experiment file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    pub experiment: ExperimentSpec,
    #[serde(default)]
    pub data: DataSpec,
    #[serde(default)]
    pub model: ModelSpec,
    #[serde(default)]
    pub train: TrainSpec,
    #[serde(default)]
    pub prune: PruneSpec,
    #[serde(default)]
    pub eval: EvalSpec,
    /// Object discovery (LOST, CorLoc) on every pooled model; absent: not run.
    #[serde(default)]
    pub lost: Option<LostSpec>,
    /// `[[attribution]]` tables: attribution maps scored with RMA/RRA (none by default).
    #[serde(default)]
    pub attribution: Vec<AttributionSpec>,
    /// Human alignment (model-vs-human); no stages when absent.
    #[serde(default)]
    pub ha: Option<HaSpec>,
    /// Where stages run (`pvr run --executor slurm`); never part of a stage key.
    #[serde(default)]
    pub executor: executor::ExecutorSpec,
    /// `[control]`: reference models trained beside the pool.
    #[serde(default, skip_serializing_if = "ControlSpec::is_off")]
    pub control: ControlSpec,
}

/// `[control]`: reference models that separate pruning from what comes with it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ControlSpec {
    /// Per round n, a dense model trained with the same n+1 schedules as round n (LRR's
    /// restarts without pruning), evaluated and analysed like a pool member: the reference that
    /// isolates pruning from extra training.
    #[serde(default)]
    pub matched_dense: bool,
}

impl ControlSpec {
    pub fn is_off(&self) -> bool {
        !self.matched_dense
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExperimentSpec {
    /// Names the report folder `reports/<name>/`.
    pub name: String,
    #[serde(default)]
    pub seed: u64,
    /// Training seeds, one pool per seed (`[0, 1, 2]`); absent: `seed` alone, with today's stage
    /// labels and keys. The data stays that of `seed`, so every pool sees the same images.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub seeds: Vec<u64>,
    /// `cpu`, `cuda`, `cuda:N`, `vulkan`, `vulkan:N`.
    #[serde(default = "default_device")]
    pub device: String,
    /// Devices training runs on, data-parallel: a list (`["cuda:0", "cuda:1"]`) or
    /// `"cuda:all"`; absent: `device` alone. Evaluation and analyses stay on `device`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub devices: Option<DevicesSpec>,
}

impl ExperimentSpec {
    /// The training seeds: `seeds`, or `seed` alone.
    pub fn training_seeds(&self) -> Vec<u64> {
        if self.seeds.is_empty() {
            vec![self.seed]
        } else {
            self.seeds.clone()
        }
    }

    /// Whether the experiment trains several pools (stage labels then carry their seed).
    pub fn multi_seed(&self) -> bool {
        self.seeds.len() > 1
    }
}

/// `experiment.devices`: every device of a kind (`"cuda:all"`) or a list of names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum DevicesSpec {
    All(String),
    List(Vec<String>),
}

/// Floating-point format of a training step's forward and backward passes. Master weights,
/// gradients handed to the optimizer and optimizer state are always f32.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    #[default]
    F32,
    Bf16,
    /// Half precision with dynamic loss scaling (torch's `GradScaler`).
    F16,
}

impl Precision {
    pub fn is_f32(&self) -> bool {
        *self == Precision::F32
    }
}

fn default_device() -> String {
    "cpu".into()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stem {
    /// 3x3 stride-1 convolution without max-pool: for 32-64 px images.
    Small,
    /// torchvision's 7x7 stride-2 convolution followed by a 3x3 stride-2 max-pool.
    Imagenet,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSpec {
    /// `resnet18`, `resnet50`, `vit_b_32`, `swin_v2_t` (torchvision's shapes) or the
    /// configurable `vit` and `swin` families.
    #[serde(default = "default_arch")]
    pub arch: String,
    /// ResNet: channels of the first stage (torchvision: 64); ViT: hidden size (768); Swin:
    /// embedding size of the first stage (96). Defaults to the architecture's.
    #[serde(default)]
    pub width: Option<usize>,
    /// ResNets only: the 3x3 small-image stem or torchvision's ImageNet stem.
    #[serde(default = "default_stem")]
    pub stem: Stem,
    /// `vit`/`swin`: side of the square patches (default 4 for `vit`, 2 for `swin`).
    #[serde(default)]
    pub patch_size: Option<usize>,
    /// `vit`: encoder blocks (default 6).
    #[serde(default)]
    pub layers: Option<usize>,
    /// `swin`: blocks per stage, 1 to 4 stages (default `[2, 2, 2]`).
    #[serde(default)]
    pub depths: Option<Vec<usize>>,
    /// `vit`: attention heads (default 4); `swin`: heads of the first stage, doubled by each
    /// later stage (default 2).
    #[serde(default)]
    pub heads: Option<usize>,
    /// `swin`: side of the square attention windows (default 4).
    #[serde(default)]
    pub window_size: Option<usize>,
    /// Must match the dataset when given; taken from the dataset otherwise.
    #[serde(default)]
    pub num_classes: Option<usize>,
    /// Weights to start from (`.pth` or `.safetensors` with torchvision's names): round 0 is
    /// this model instead of a trained one. Relative to the working directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pretrained: Option<String>,
    /// A given pool: round n is the n-th file, nothing is trained or pruned.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pool: Vec<String>,
}

fn default_arch() -> String {
    "resnet18".into()
}
fn default_stem() -> Stem {
    Stem::Small
}

impl Default for ModelSpec {
    fn default() -> Self {
        Self {
            arch: default_arch(),
            width: None,
            stem: default_stem(),
            patch_size: None,
            layers: None,
            depths: None,
            heads: None,
            window_size: None,
            num_classes: None,
            pretrained: None,
            pool: Vec::new(),
        }
    }
}

/// The recipe of every training run. Keys added after the first release are left out of the
/// serialized form (which enters stage keys) while at their defaults, so adding them kept
/// every cached stage valid.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainSpec {
    /// A preset ([`presets`]) filling every recipe key the file does not give. Only the
    /// values it fills enter stage keys, not its name.
    #[serde(default, skip_serializing)]
    pub recipe: Option<String>,
    #[serde(default = "default_epochs")]
    pub epochs: usize,
    #[serde(default = "default_batch_size")]
    pub batch_size: usize,
    #[serde(default)]
    pub optimizer: OptimizerSpec,
    #[serde(default)]
    pub schedule: ScheduleSpec,
    #[serde(default)]
    pub augment: AugmentSpec,
    /// Cross-entropy label smoothing: targets become `(1 - e) * target + e / classes`
    /// (torch's `CrossEntropyLoss(label_smoothing=e)`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub label_smoothing: f64,
    /// Scale all gradients so that their global L2 norm is at most this
    /// (torch's `clip_grad_norm_` over every parameter; pruned weights' gradients excluded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clip_grad_norm: Option<f64>,
    /// Threads decoding and augmenting images ahead of the training step; default: one per
    /// core. Never in stage keys: every image depends on (seed, epoch, index) alone, so the
    /// count changes speed, not results.
    #[serde(default, skip_serializing)]
    pub workers: Option<usize>,
    /// Forward/backward format: `f32`, `bf16` or `f16`. In stage keys when not `f32`: low
    /// precision changes the trained weights beyond the last digits.
    #[serde(default, skip_serializing_if = "Precision::is_f32")]
    pub precision: Precision,
    /// Data-parallel training (`experiment.devices`): batch norm normalises with the global
    /// batch's statistics across the devices (PyTorch's `SyncBatchNorm`) instead of each
    /// device's share. Never serialized: with it several devices train what one device trains
    /// (up to rounding), so training stages keep the one-device key.
    #[serde(default, skip_serializing)]
    pub sync_bn: bool,
}

fn is_zero(value: &f64) -> bool {
    *value == 0.0
}

fn default_epochs() -> usize {
    6
}
fn default_batch_size() -> usize {
    64
}

impl Default for TrainSpec {
    fn default() -> Self {
        Self {
            recipe: None,
            epochs: default_epochs(),
            batch_size: default_batch_size(),
            optimizer: OptimizerSpec::default(),
            schedule: ScheduleSpec::default(),
            augment: AugmentSpec::default(),
            label_smoothing: 0.0,
            clip_grad_norm: None,
            workers: None,
            precision: Precision::F32,
            sync_bn: false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum OptimizerSpec {
    Sgd {
        lr: f64,
        #[serde(default = "default_momentum")]
        momentum: f64,
        #[serde(default = "default_sgd_weight_decay")]
        weight_decay: f64,
        #[serde(default)]
        nesterov: bool,
    },
    Adamw {
        lr: f64,
        #[serde(default = "default_beta1")]
        beta1: f64,
        #[serde(default = "default_beta2")]
        beta2: f64,
        #[serde(default = "default_adamw_weight_decay")]
        weight_decay: f64,
        #[serde(default = "default_eps")]
        eps: f64,
    },
}

fn default_momentum() -> f64 {
    0.9
}
fn default_sgd_weight_decay() -> f64 {
    5e-4
}
fn default_beta1() -> f64 {
    0.9
}
fn default_beta2() -> f64 {
    0.999
}
fn default_adamw_weight_decay() -> f64 {
    0.05
}
fn default_eps() -> f64 {
    1e-8
}

impl Default for OptimizerSpec {
    fn default() -> Self {
        OptimizerSpec::Sgd {
            lr: 0.1,
            momentum: default_momentum(),
            weight_decay: default_sgd_weight_decay(),
            nesterov: false,
        }
    }
}

impl OptimizerSpec {
    pub fn lr(&self) -> f64 {
        match self {
            OptimizerSpec::Sgd { lr, .. } | OptimizerSpec::Adamw { lr, .. } => *lr,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum ScheduleSpec {
    /// Cosine decay from `lr` to `min_lr` over the run (per step), after the warmup.
    Cosine {
        #[serde(default)]
        warmup_epochs: f64,
        #[serde(default)]
        min_lr: f64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        warmup_start_factor: Option<f64>,
        #[serde(default, skip_serializing_if = "ScheduleUpdate::is_step")]
        update: ScheduleUpdate,
    },
    /// Multiply the rate by `gamma` every `every` epochs (torchvision's StepLR).
    Step {
        every: usize,
        #[serde(default = "default_gamma")]
        gamma: f64,
        #[serde(default)]
        warmup_epochs: f64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        warmup_start_factor: Option<f64>,
        #[serde(default, skip_serializing_if = "ScheduleUpdate::is_step")]
        update: ScheduleUpdate,
    },
    Constant {
        #[serde(default)]
        warmup_epochs: f64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        warmup_start_factor: Option<f64>,
        #[serde(default, skip_serializing_if = "ScheduleUpdate::is_step")]
        update: ScheduleUpdate,
    },
}

/// When the learning rate moves.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScheduleUpdate {
    /// Every optimizer step (smooth).
    #[default]
    Step,
    /// Once per epoch, held within it: torchvision's reference `train.py`, which steps its
    /// scheduler after each epoch.
    Epoch,
}

impl ScheduleUpdate {
    fn is_step(&self) -> bool {
        *self == ScheduleUpdate::Step
    }
}

fn default_gamma() -> f64 {
    0.1
}

impl Default for ScheduleSpec {
    fn default() -> Self {
        ScheduleSpec::Cosine {
            warmup_epochs: 0.0,
            min_lr: 0.0,
            warmup_start_factor: None,
            update: ScheduleUpdate::Step,
        }
    }
}

impl ScheduleSpec {
    /// (warmup epochs, warmup start factor, update granularity), common to every kind.
    pub fn warmup_and_update(&self) -> (f64, Option<f64>, ScheduleUpdate) {
        match self {
            ScheduleSpec::Cosine {
                warmup_epochs,
                warmup_start_factor,
                update,
                ..
            }
            | ScheduleSpec::Step {
                warmup_epochs,
                warmup_start_factor,
                update,
                ..
            }
            | ScheduleSpec::Constant {
                warmup_epochs,
                warmup_start_factor,
                update,
            } => (*warmup_epochs, *warmup_start_factor, *update),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AugmentSpec {
    /// Zero padding before the random crop back to the image size; 0 disables the crop.
    #[serde(default = "default_crop_padding")]
    pub crop_padding: usize,
    #[serde(default = "default_true")]
    pub horizontal_flip: bool,
    /// torchvision's RandomResizedCrop (bilinear, antialiased) from the whole picture to the
    /// network's input size; replaces the padded crop (`crop_padding` must be 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub random_resized_crop: Option<RandomResizedCropSpec>,
    /// MixUp's Beta(alpha, alpha) parameter; 0 disables MixUp.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub mixup_alpha: f64,
    /// CutMix's Beta(alpha, alpha) parameter; 0 disables CutMix.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub cutmix_alpha: f64,
    /// Probability that a batch is mixed at all (then MixUp or CutMix, one chosen uniformly
    /// among those enabled, as torchvision's `RandomChoice`); torchvision's recipes use 1.
    #[serde(default = "default_mix_prob", skip_serializing_if = "is_one")]
    pub mix_prob: f64,
}

fn default_mix_prob() -> f64 {
    1.0
}
fn is_one(value: &f64) -> bool {
    *value == 1.0
}

/// torchvision `RandomResizedCrop(size, scale, ratio)`: a window of `scale` of the area and
/// `ratio` aspect (sampled log-uniformly), resized to the network's input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RandomResizedCropSpec {
    #[serde(default = "default_crop_scale")]
    pub scale: [f64; 2],
    #[serde(default = "default_crop_ratio")]
    pub ratio: [f64; 2],
}

fn default_crop_scale() -> [f64; 2] {
    [0.08, 1.0]
}
fn default_crop_ratio() -> [f64; 2] {
    [3.0 / 4.0, 4.0 / 3.0]
}

impl Default for RandomResizedCropSpec {
    fn default() -> Self {
        Self {
            scale: default_crop_scale(),
            ratio: default_crop_ratio(),
        }
    }
}

fn default_crop_padding() -> usize {
    4
}
fn default_true() -> bool {
    true
}

impl Default for AugmentSpec {
    fn default() -> Self {
        Self {
            crop_padding: default_crop_padding(),
            horizontal_flip: true,
            random_resized_crop: None,
            mixup_alpha: 0.0,
            cutmix_alpha: 0.0,
            mix_prob: default_mix_prob(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PruneMethod {
    /// Learning-rate rewinding: keep the weights, restart the full schedule with a fresh optimizer.
    Lrr,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PruneSpec {
    #[serde(default = "default_prune_method")]
    pub method: PruneMethod,
    /// Share of the still-unpruned weights removed each round.
    #[serde(default = "default_rate")]
    pub rate: f64,
    /// Prune until the sparsity reaches this; exclusive with `rounds`.
    #[serde(default)]
    pub target_sparsity: Option<f64>,
    /// Number of pruning rounds; exclusive with `target_sparsity`.
    #[serde(default)]
    pub rounds: Option<usize>,
    /// Glob patterns (`*` any run of characters) over prunable parameter paths.
    #[serde(default = "default_include")]
    pub include: Vec<String>,
    #[serde(default)]
    pub exclude: Vec<String>,
    /// No tensor passes this sparsity (e.g. `0.95`); the rest of a round's removals go to the
    /// other tensors' next-smallest weights. Absent: pure global magnitude pruning.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_layer_sparsity: Option<f64>,
}

fn default_prune_method() -> PruneMethod {
    PruneMethod::Lrr
}
fn default_rate() -> f64 {
    0.2
}
fn default_include() -> Vec<String> {
    vec!["*".into()]
}

impl Default for PruneSpec {
    fn default() -> Self {
        Self {
            method: default_prune_method(),
            rate: default_rate(),
            target_sparsity: None,
            rounds: None,
            include: default_include(),
            exclude: Vec::new(),
            max_layer_sparsity: None,
        }
    }
}

impl ModelSpec {
    /// The weights files the pipeline starts from: the pool, or the pretrained model, or none.
    pub fn given_weights(&self) -> Vec<&str> {
        if !self.pool.is_empty() {
            self.pool.iter().map(String::as_str).collect()
        } else {
            self.pretrained.iter().map(String::as_str).collect()
        }
    }
}

impl PruneSpec {
    /// Number of pruning rounds the spec asks for: `rounds`, or the fewest rounds whose sparsity
    /// `1 - (1 - rate)^n` reaches `target_sparsity`. Without either, no pruning.
    pub fn round_count(&self) -> usize {
        if let Some(rounds) = self.rounds {
            return rounds;
        }
        match self.target_sparsity {
            Some(target) => rounds_to_reach(self.rate, target),
            None => 0,
        }
    }
}

/// Sparsity after `rounds` rounds each removing `rate` of the remaining weights.
pub fn expected_sparsity(rate: f64, rounds: usize) -> f64 {
    1.0 - (1.0 - rate).powi(rounds as i32)
}

/// The fewest rounds whose sparsity reaches `target` (a tiny tolerance absorbs float error, so
/// that 0.36 is reached after 2 rounds at rate 0.2).
pub fn rounds_to_reach(rate: f64, target: f64) -> usize {
    if target <= 0.0 {
        return 0;
    }
    (1..=1000)
        .find(|&n| expected_sparsity(rate, n) + 1e-9 >= target)
        .unwrap_or(1000)
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvalSpec {
    #[serde(default = "default_eval_batch_size")]
    pub batch_size: usize,
}

fn default_eval_batch_size() -> usize {
    128
}

impl Default for EvalSpec {
    fn default() -> Self {
        Self {
            batch_size: default_eval_batch_size(),
        }
    }
}

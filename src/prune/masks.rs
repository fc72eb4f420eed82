//! Pruning masks by parameter path, and their application to a network.

use std::collections::{BTreeMap, HashMap};

use burn::module::{Module, ModuleMapper, Param};
use burn::tensor::{Device, Tensor, TensorData};

use crate::models::params::{ParamInfo, PathTracker};

/// Which weights of one tensor survive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mask {
    pub shape: Vec<usize>,
    pub keep: Vec<bool>,
}

impl Mask {
    pub fn kept(&self) -> usize {
        self.keep.iter().filter(|&&k| k).count()
    }
}

/// Masks of all pruned tensors. A prunable tensor without an entry is entirely kept.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Masks {
    pub tensors: BTreeMap<String, Mask>,
}

impl Masks {
    /// Masks keeping every weight of `params`: the dense model's, which still records the
    /// prunable set.
    pub fn all_kept(params: &[ParamInfo]) -> Self {
        let tensors = params
            .iter()
            .map(|p| {
                let mask = Mask {
                    shape: p.shape.clone(),
                    keep: vec![true; p.numel()],
                };
                (p.path.clone(), mask)
            })
            .collect();
        Self { tensors }
    }

    pub fn get(&self, path: &str) -> Option<&Mask> {
        self.tensors.get(path)
    }

    /// Adds an all-kept mask for `path` if it has none (shape filled in by [`Masks::with_shapes`]).
    pub fn ensure(&mut self, path: &str, len: usize) {
        self.tensors
            .entry(path.to_string())
            .or_insert_with(|| Mask {
                shape: vec![len],
                keep: vec![true; len],
            });
    }

    pub fn remove(&mut self, path: &str, position: usize) {
        if let Some(mask) = self.tensors.get_mut(path) {
            mask.keep[position] = false;
        }
    }

    /// Records the true tensor shapes (masks built from flattened values only know lengths).
    pub fn with_shapes(mut self, shapes: &BTreeMap<String, Vec<usize>>) -> Self {
        for (path, mask) in &mut self.tensors {
            if let Some(shape) = shapes.get(path) {
                mask.shape = shape.clone();
            }
        }
        self
    }

    pub fn total(&self) -> usize {
        self.tensors.values().map(|m| m.keep.len()).sum()
    }

    pub fn pruned(&self) -> usize {
        self.tensors.values().map(|m| m.keep.len() - m.kept()).sum()
    }

    /// Share of masked weights among the masked tensors.
    pub fn sparsity(&self) -> f64 {
        let total = self.total();
        if total == 0 {
            0.0
        } else {
            self.pruned() as f64 / total as f64
        }
    }

    /// Uploads the masks to `device` once, for repeated application during training.
    pub fn to_device(&self, device: &Device) -> DeviceMasks {
        let tensors = self
            .tensors
            .iter()
            .filter(|(_, mask)| mask.kept() < mask.keep.len())
            .map(|(path, mask)| {
                let values: Vec<f32> = mask.keep.iter().map(|&k| f32::from(u8::from(k))).collect();
                let len = values.len();
                (
                    path.clone(),
                    Tensor::<1>::from_data(TensorData::new(values, [len]), device),
                )
            })
            .collect();
        DeviceMasks { tensors }
    }
}

/// Masks resident on the compute device.
#[derive(Clone)]
pub struct DeviceMasks {
    tensors: HashMap<String, Tensor<1>>,
}

impl DeviceMasks {
    pub fn is_empty(&self) -> bool {
        self.tensors.is_empty()
    }

    /// The flattened mask of `path` (1 = kept), when it has pruned entries.
    pub fn get(&self, path: &str) -> Option<&Tensor<1>> {
        self.tensors.get(path)
    }

    /// Multiplies every masked parameter by its mask. The result is detached and, on an autodiff
    /// device, marked trainable again: a masked parameter that stayed a graph node would silently
    /// stop being updated by the optimizer.
    pub fn apply<M: Module>(&self, module: M) -> M {
        if self.tensors.is_empty() {
            return module;
        }
        let mut mapper = MaskMapper {
            masks: self,
            tracker: PathTracker::default(),
        };
        module.map(&mut mapper)
    }
}

struct MaskMapper<'a> {
    masks: &'a DeviceMasks,
    tracker: PathTracker,
}

impl ModuleMapper for MaskMapper<'_> {
    fn enter_module(&mut self, name: &str, container_type: &str) {
        self.tracker.enter(name, container_type);
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.tracker.exit();
    }

    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let Some(mask) = self.masks.tensors.get(&self.tracker.path()) else {
            return param;
        };
        param.map(|tensor| {
            let trainable = tensor.is_require_grad();
            let masked = (tensor.clone() * mask.clone().reshape(tensor.shape())).detach();
            if trainable {
                masked.require_grad()
            } else {
                masked
            }
        })
    }
}

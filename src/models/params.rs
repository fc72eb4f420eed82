//! Parameters by path (`layer1.0.conv1.weight`): listing, reading values out, and the prunable
//! set. Burn names modules as it walks them; this module turns that walk into stable paths.

use std::collections::BTreeMap;

use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};

/// Tracks the dotted path while Burn walks a module tree. Enum variants (`Network::ResNet`)
/// are skipped so that paths stay architecture-local, as in torchvision.
#[derive(Default)]
pub struct PathTracker {
    parts: Vec<(String, bool)>,
}

impl PathTracker {
    pub fn enter(&mut self, name: &str, container_type: &str) {
        self.parts
            .push((name.to_string(), container_type.starts_with("Enum:")));
    }

    pub fn exit(&mut self) {
        self.parts.pop();
    }

    pub fn path(&self) -> String {
        self.parts
            .iter()
            .filter(|(_, is_variant)| !is_variant)
            .map(|(name, _)| name.as_str())
            .collect::<Vec<_>>()
            .join(".")
    }
}

/// One float parameter of a network.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParamInfo {
    pub path: String,
    pub shape: Vec<usize>,
    /// Conv and linear weights: the tensors magnitude pruning may touch. Biases and norm
    /// parameters never are.
    pub prunable: bool,
}

impl ParamInfo {
    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }
}

/// Whether a parameter is a convolution or linear weight, by its path and rank: every
/// `*.weight` of rank 2 or more (convolutions, linear layers, the patch embeddings, Swin's
/// `qkv`, `proj`, `cpb_mlp` and patch-merging `reduction`) and the ViT attention's fused
/// `in_proj_weight`. Biases, norm scales (`gamma`/`beta`), the class token, position
/// embeddings and SwinV2's `logit_scale` are never prunable.
pub fn is_prunable_kind(path: &str, rank: usize) -> bool {
    rank >= 2 && (path.ends_with(".weight") || path.ends_with("in_proj_weight"))
}

/// Whether a visited float tensor is a buffer rather than a parameter. Burn visits BatchNorm's
/// running statistics like parameters; torchvision registers them as buffers, so parameter
/// counts leave them out.
pub fn is_buffer(path: &str) -> bool {
    path.ends_with(".running_mean") || path.ends_with(".running_var")
}

/// Parameter count as torchvision counts it (`sum(p.numel() for p in model.parameters())`):
/// every float tensor but the buffers.
pub fn count_parameters(params: &[ParamInfo]) -> usize {
    params
        .iter()
        .filter(|p| !is_buffer(&p.path))
        .map(ParamInfo::numel)
        .sum()
}

/// What [`walk_params`] calls for each parameter: (path, shape, read the values).
pub type ParamVisit<'a> = dyn FnMut(&str, &[usize], &dyn Fn() -> Vec<f32>) + 'a;

/// Calls `visit(path, shape, read)` for every float parameter in visiting order (the module's
/// field order); `read()` copies the parameter's values out, row-major, only when asked.
pub fn walk_params<M: Module>(module: &M, visit: &mut ParamVisit<'_>) {
    let mut walker = Walker {
        tracker: PathTracker::default(),
        visit,
    };
    module.visit(&mut walker);
}

struct Walker<'a> {
    tracker: PathTracker,
    visit: &'a mut ParamVisit<'a>,
}

impl ModuleVisitor for Walker<'_> {
    fn enter_module(&mut self, name: &str, container_type: &str) {
        self.tracker.enter(name, container_type);
    }
    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.tracker.exit();
    }
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let read = || {
            param
                .val()
                .into_data()
                .convert::<f32>()
                .try_into_vec::<f32>()
                .expect("float parameters convert to f32")
        };
        // `lazy_shape` reads the shape without drawing a not-yet-initialised parameter, so
        // listing the parameters of a fresh network allocates nothing.
        let shape = param.lazy_shape().dims::<D>();
        (self.visit)(&self.tracker.path(), &shape, &read);
    }
}

/// Every float parameter in visiting order (which is the module's field order).
pub fn list_params<M: Module>(module: &M) -> Vec<ParamInfo> {
    let mut params = Vec::new();
    walk_params(module, &mut |path, shape, _| {
        params.push(ParamInfo {
            path: path.to_string(),
            shape: shape.to_vec(),
            prunable: is_prunable_kind(path, shape.len()),
        });
    });
    params
}

/// Values of the parameters whose paths `wanted` accepts, flattened in row-major order.
pub fn read_params<M: Module>(
    module: &M,
    wanted: &dyn Fn(&str) -> bool,
) -> BTreeMap<String, Vec<f32>> {
    let mut values = BTreeMap::new();
    walk_params(module, &mut |path, _, read| {
        if wanted(path) {
            values.insert(path.to_string(), read());
        }
    });
    values
}

/// `*` matches any run of characters (dots included); everything else matches itself.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let pattern = pattern.as_bytes();
    let text = text.as_bytes();
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && pattern[p] == b'*' {
            star = Some((p, t));
            p += 1;
        } else if p < pattern.len() && pattern[p] == text[t] {
            p += 1;
            t += 1;
        } else if let Some((star_p, star_t)) = star {
            p = star_p + 1;
            t = star_t + 1;
            star = Some((star_p, star_t + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

/// The prunable parameters selected by include/exclude patterns, in module order.
pub fn prunable_set(
    params: &[ParamInfo],
    include: &[String],
    exclude: &[String],
) -> Vec<ParamInfo> {
    params
        .iter()
        .filter(|p| p.prunable)
        .filter(|p| include.iter().any(|pattern| glob_match(pattern, &p.path)))
        .filter(|p| !exclude.iter().any(|pattern| glob_match(pattern, &p.path)))
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_matches_like_a_shell_star() {
        assert!(glob_match("*", "layer1.0.conv1.weight"));
        assert!(glob_match("layer*.conv1.weight", "layer1.0.conv1.weight"));
        assert!(glob_match("fc.*", "fc.weight"));
        assert!(!glob_match("fc.*", "layer4.1.conv2.weight"));
        assert!(glob_match(
            "*downsample*",
            "layer2.0.downsample.conv.weight"
        ));
        assert!(!glob_match("conv1.weight", "layer1.0.conv1.weight"));
        assert!(glob_match("", ""));
        assert!(!glob_match("", "x"));
    }

    #[test]
    fn prunable_kind_is_conv_and_linear_weights() {
        assert!(is_prunable_kind("conv1.weight", 4));
        assert!(is_prunable_kind("fc.weight", 2));
        assert!(!is_prunable_kind("fc.bias", 1));
        assert!(!is_prunable_kind("bn1.gamma", 1));
        assert!(is_prunable_kind(
            "encoder.layers.0.self_attention.in_proj_weight",
            2
        ));
        assert!(!is_prunable_kind(
            "encoder.layers.0.self_attention.in_proj_bias",
            1
        ));
        assert!(!is_prunable_kind("class_token", 3));
        assert!(!is_prunable_kind("encoder.pos_embedding", 3));
        assert!(!is_prunable_kind("features.1.0.attn.logit_scale", 3));
    }

    #[test]
    fn buffers_are_batch_norm_running_statistics() {
        assert!(is_buffer("layer1.0.bn1.running_mean"));
        assert!(is_buffer("bn1.running_var"));
        assert!(!is_buffer("bn1.gamma"));
        let params = [
            ParamInfo {
                path: "bn1.gamma".into(),
                shape: vec![4],
                prunable: false,
            },
            ParamInfo {
                path: "bn1.running_var".into(),
                shape: vec![4],
                prunable: false,
            },
            ParamInfo {
                path: "fc.weight".into(),
                shape: vec![4, 3],
                prunable: true,
            },
        ];
        assert_eq!(count_parameters(&params), 16);
    }
}

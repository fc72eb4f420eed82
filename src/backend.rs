//! Which Burn device a run computes on. The spec names it (`cpu`, `cuda:1`, `vulkan`); the
//! GPU backends exist only when pvr was built with the matching cargo feature.

use std::fmt;
use std::str::FromStr;

use burn::tensor::Device;

/// A device as the spec names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceChoice {
    /// Burn's pure-Rust `flex` backend: the fastest CPU backend that builds offline.
    Cpu,
    Cuda(usize),
    Vulkan(usize),
}

impl FromStr for DeviceChoice {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (name, index) = match text.split_once(':') {
            Some((name, index)) => {
                let index = index
                    .parse::<usize>()
                    .map_err(|_| format!("`{text}`: the device index must be a number"))?;
                (name, Some(index))
            }
            None => (text, None),
        };
        match (name, index) {
            ("cpu", None) => Ok(DeviceChoice::Cpu),
            ("cuda", index) => Ok(DeviceChoice::Cuda(index.unwrap_or(0))),
            ("vulkan", index) => Ok(DeviceChoice::Vulkan(index.unwrap_or(0))),
            _ => Err(format!(
                "unknown device `{text}`; expected `cpu`, `cuda`, `cuda:N`, `vulkan` or `vulkan:N`"
            )),
        }
    }
}

impl fmt::Display for DeviceChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeviceChoice::Cpu => write!(f, "cpu"),
            DeviceChoice::Cuda(index) => write!(f, "cuda:{index}"),
            DeviceChoice::Vulkan(index) => write!(f, "vulkan:{index}"),
        }
    }
}

impl DeviceChoice {
    /// The backend family, which enters stage keys: results from different backends differ in
    /// the last digits, while two GPUs of one machine give the same numbers.
    pub fn family(&self) -> &'static str {
        match self {
            DeviceChoice::Cpu => "flex",
            DeviceChoice::Cuda(_) => "cuda",
            DeviceChoice::Vulkan(_) => "vulkan",
        }
    }

    /// Whether this build of pvr can compute on the device; the error says which feature to enable.
    pub fn check_available(&self) -> Result<(), String> {
        let (enabled, feature) = match self {
            DeviceChoice::Cpu => (true, ""),
            DeviceChoice::Cuda(_) => (cfg!(feature = "cuda"), "cuda"),
            DeviceChoice::Vulkan(_) => (cfg!(feature = "vulkan"), "vulkan"),
        };
        if enabled {
            Ok(())
        } else {
            Err(format!(
                "device `{self}` needs pvr built with the `{feature}` feature: \
                 cargo run --release --features {feature} -- run ..."
            ))
        }
    }

    /// The Burn device for inference (no autodiff).
    pub fn device(&self) -> Device {
        match self {
            DeviceChoice::Cpu => Device::flex(),
            #[cfg(feature = "cuda")]
            DeviceChoice::Cuda(index) => Device::cuda(*index),
            #[cfg(feature = "vulkan")]
            DeviceChoice::Vulkan(index) => {
                Device::vulkan(burn::tensor::DeviceKind::DiscreteGpu(*index))
            }
            #[allow(unreachable_patterns)]
            other => panic!("{}", other.check_available().unwrap_err()),
        }
    }

    /// The same device with gradients recorded, for training and attribution.
    pub fn autodiff_device(&self) -> Device {
        self.device().autodiff()
    }

    /// The family named by `"<kind>:all"` (`cuda:all`, `vulkan:all`).
    pub fn parse_all(text: &str) -> Result<&'static str, String> {
        match text {
            "cuda:all" => Ok("cuda"),
            "vulkan:all" => Ok("vulkan"),
            _ => Err(format!(
                "`{text}`: expected a list of devices (`[\"cuda:0\", \"cuda:1\"]`) or `\"cuda:all\"` / `\"vulkan:all\"`"
            )),
        }
    }

    /// Every device of a GPU family this machine has (`"cuda:all"`). Opens the devices.
    pub fn enumerate_all(family: &str) -> Result<Vec<DeviceChoice>, String> {
        let count = match family {
            #[cfg(feature = "cuda")]
            "cuda" => Device::enumerate(burn::tensor::DeviceType::Cuda).len(),
            #[cfg(feature = "vulkan")]
            "vulkan" => Device::enumerate(burn::tensor::DeviceType::Vulkan).len(),
            _ => 0,
        };
        let make = |index| match family {
            "cuda" => DeviceChoice::Cuda(index),
            _ => DeviceChoice::Vulkan(index),
        };
        if count == 0 {
            let probe = make(0);
            probe.check_available()?;
            return Err(format!(
                "`{family}:all`: this machine has no {family} device"
            ));
        }
        Ok((0..count).map(make).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_device_names() {
        assert_eq!("cpu".parse(), Ok(DeviceChoice::Cpu));
        assert_eq!("cuda".parse(), Ok(DeviceChoice::Cuda(0)));
        assert_eq!("cuda:1".parse(), Ok(DeviceChoice::Cuda(1)));
        assert_eq!("vulkan:2".parse(), Ok(DeviceChoice::Vulkan(2)));
        assert!("tpu".parse::<DeviceChoice>().is_err());
        assert!("cuda:x".parse::<DeviceChoice>().is_err());
        assert!("cpu:1".parse::<DeviceChoice>().is_err());
    }
}

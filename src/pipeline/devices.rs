//! Checks of `experiment.devices`: the devices a training stage runs on, data-parallel.

use crate::backend::DeviceChoice;
use crate::spec::{DevicesSpec, Problems, Spec};

/// Problems with the training devices.
pub(super) fn device_problems(spec: &Spec) -> Problems {
    let mut problems = Problems::new();
    let Ok(device) = spec.experiment.device.parse::<DeviceChoice>() else {
        return problems; // reported under `experiment.device`
    };
    let family = match &spec.experiment.devices {
        None => device.family(),
        Some(DevicesSpec::All(text)) => match DeviceChoice::parse_all(text) {
            Ok(family) => family,
            Err(message) => {
                problems.add("experiment.devices", message);
                return problems;
            }
        },
        Some(DevicesSpec::List(names)) => match list_family(names) {
            Ok(family) => family,
            Err(message) => {
                problems.add("experiment.devices", message);
                return problems;
            }
        },
    };
    if family != device.family() {
        problems.add(
            "experiment.device",
            format!(
                "`{device}` but training runs on `{family}` devices (experiment.devices); evaluation \
                 and analyses run on `device`: set it to one of them, e.g. `device = \"{}\"`",
                match family {
                    "flex" => "cpu".to_string(),
                    gpu => format!("{gpu}:0"),
                }
            ),
        );
    }
    problems
}

/// The backend family shared by every device of the list.
fn list_family(names: &[String]) -> Result<&'static str, String> {
    let devices = names
        .iter()
        .map(|name| name.parse::<DeviceChoice>())
        .collect::<Result<Vec<_>, _>>()?;
    let Some(first) = devices.first() else {
        return Err("an empty list: name at least one device, or leave the key out".into());
    };
    if let Some(other) = devices.iter().find(|d| d.family() != first.family()) {
        return Err(format!(
            "`{first}` and `{other}`: one training stage runs on devices of one kind"
        ));
    }
    Ok(first.family())
}

/// The devices a training stage runs on: `experiment.devices` resolved (`"cuda:all"` expanded),
/// or the one `experiment.device`.
pub(super) fn training_devices(
    device: DeviceChoice,
    devices: Option<&DevicesSpec>,
) -> Result<Vec<DeviceChoice>, String> {
    let chosen = match devices {
        None => vec![device],
        Some(DevicesSpec::All(text)) => {
            DeviceChoice::enumerate_all(DeviceChoice::parse_all(text)?)?
        }
        Some(DevicesSpec::List(names)) => names
            .iter()
            .map(|name| name.parse())
            .collect::<Result<Vec<DeviceChoice>, String>>()?,
    };
    for choice in &chosen {
        choice.check_available()?;
    }
    Ok(chosen)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::pipeline::parse_spec;

    /// The error of a spec with these `[experiment]` lines, as `check` prints it.
    fn error(experiment: &str) -> Option<String> {
        let text = format!("[experiment]\nname = \"x\"\n{experiment}\n");
        parse_spec(&text, Path::new("x.toml"), &[])
            .err()
            .map(|e| e.to_string())
    }

    #[test]
    fn training_devices_are_checked_before_anything_runs() {
        assert_eq!(error("devices = [\"cpu\", \"cpu\"]"), None);
        let mixed = error("devices = [\"cpu\", \"cuda:0\"]").unwrap();
        assert!(
            mixed.contains("experiment.devices") && mixed.contains("one kind"),
            "{mixed}"
        );
        let elsewhere = error("devices = [\"cuda:0\", \"cuda:1\"]").unwrap();
        assert!(elsewhere.contains("experiment.device"), "{elsewhere}");
        assert!(elsewhere.contains("device = \"cuda:0\""), "{elsewhere}");
        let unknown = error("devices = \"tpu:all\"").unwrap();
        assert!(unknown.contains("cuda:all"), "{unknown}");
        let empty = error("devices = []").unwrap();
        assert!(empty.contains("empty list"), "{empty}");
    }
}

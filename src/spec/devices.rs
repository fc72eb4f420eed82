//! Checks of `experiment.devices`: the devices a training stage runs on, data-parallel.

use super::{DevicesSpec, Spec};
use crate::backend::DeviceChoice;

/// Problems with the training devices, as (dotted key, message).
pub(super) fn device_problems(spec: &Spec) -> Vec<(String, String)> {
    let mut problems = Vec::new();
    let Ok(device) = spec.experiment.device.parse::<DeviceChoice>() else {
        return problems; // reported under `experiment.device`
    };
    let family = match &spec.experiment.devices {
        None => device.family(),
        Some(DevicesSpec::All(text)) => match DeviceChoice::parse_all(text) {
            Ok(family) => family,
            Err(message) => {
                problems.push(("experiment.devices".into(), message));
                return problems;
            }
        },
        Some(DevicesSpec::List(names)) => match list_family(names) {
            Ok(family) => family,
            Err(message) => {
                problems.push(("experiment.devices".into(), message));
                return problems;
            }
        },
    };
    if family != device.family() {
        problems.push((
            "experiment.device".into(),
            format!(
                "`{device}` but training runs on `{family}` devices (experiment.devices); evaluation \
                 and analyses run on `device`: set it to one of them, e.g. `device = \"{}\"`",
                match family {
                    "flex" => "cpu".to_string(),
                    gpu => format!("{gpu}:0"),
                }
            ),
        ));
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

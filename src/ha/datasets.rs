//! The 17 model-vs-human datasets: names, conditions as the benchmark writes them in file names,
//! and how each is laid out on disk.

pub use crate::spec::HaDataset;

/// How a dataset's files are arranged under `<root>/<dataset>/`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// `dnn/session-N/<nnnn>_<code>_dnn_<condition>_<category>_<...>.png`.
    Sessions,
    /// `<category>/<file>.png` (one condition).
    CategoryFolders,
}

/// The condition name of the five sets that have only one.
pub const SINGLE_CONDITION: &str = "all";

impl HaDataset {
    /// The 12 sets pvr generates by distorting images.
    pub const PARAMETRIC: [HaDataset; 12] = [
        HaDataset::Colour,
        HaDataset::Contrast,
        HaDataset::HighPass,
        HaDataset::LowPass,
        HaDataset::PhaseScrambling,
        HaDataset::PowerEqualisation,
        HaDataset::FalseColour,
        HaDataset::Rotation,
        HaDataset::EidolonI,
        HaDataset::EidolonII,
        HaDataset::EidolonIII,
        HaDataset::UniformNoise,
    ];

    pub fn is_parametric(self) -> bool {
        Self::PARAMETRIC.contains(&self)
    }

    pub fn layout(self) -> Layout {
        match self {
            HaDataset::Edge | HaDataset::Silhouette | HaDataset::CueConflict => {
                Layout::CategoryFolders
            }
            _ => Layout::Sessions,
        }
    }

    /// The benchmark reports top-5 as well for these two.
    pub fn reports_top5(self) -> bool {
        matches!(self, HaDataset::Sketch | HaDataset::Stylized)
    }

    /// The conditions in the benchmark's order, spelled as its analysis code spells them
    /// (`modelvshuman/datasets/experiments.py`); the first is the undistorted one.
    pub fn conditions(self) -> &'static [&'static str] {
        match self {
            HaDataset::Colour => &["cr", "bw"],
            HaDataset::Contrast => &["c100", "c50", "c30", "c15", "c10", "c05", "c03", "c01"],
            HaDataset::HighPass => &["inf", "3.0", "1.5", "1.0", "0.7", "0.55", "0.45", "0.4"],
            HaDataset::LowPass => &["0", "1", "3", "5", "7", "10", "15", "40"],
            HaDataset::PhaseScrambling => &["0", "30", "60", "90", "120", "150", "180"],
            HaDataset::PowerEqualisation => &["0", "pow"],
            HaDataset::FalseColour => &["True", "False"],
            HaDataset::Rotation => &["0", "90", "180", "270"],
            HaDataset::EidolonI => &[
                "1-10-10",
                "2-10-10",
                "4-10-10",
                "8-10-10",
                "16-10-10",
                "32-10-10",
                "64-10-10",
                "128-10-10",
            ],
            HaDataset::EidolonII => &[
                "1-3-10", "2-3-10", "4-3-10", "8-3-10", "16-3-10", "32-3-10", "64-3-10", "128-3-10",
            ],
            HaDataset::EidolonIII => &[
                "1-0-10", "2-0-10", "4-0-10", "8-0-10", "16-0-10", "32-0-10", "64-0-10", "128-0-10",
            ],
            HaDataset::UniformNoise => &["0.0", "0.03", "0.05", "0.1", "0.2", "0.35", "0.6", "0.9"],
            HaDataset::Sketch
            | HaDataset::Stylized
            | HaDataset::Edge
            | HaDataset::Silhouette
            | HaDataset::CueConflict => &[SINGLE_CONDITION],
        }
    }

    /// The condition a file name's condition field stands for. Numbers compare by value, because
    /// the released files spell some of them differently from the analysis code (`0.10` for `0.1`
    /// in uniform-noise); the single-condition sets take any value.
    pub fn canonical_condition(self, field: &str) -> Option<&'static str> {
        let known = self.conditions();
        if known == [SINGLE_CONDITION] {
            return Some(SINGLE_CONDITION);
        }
        if let Some(exact) = known.iter().find(|c| **c == field) {
            return Some(exact);
        }
        let value = |text: &str| -> Option<f64> {
            text.strip_prefix('c')
                .unwrap_or(text)
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
        };
        let wanted = value(field)?;
        known
            .iter()
            .find(|c| value(c).is_some_and(|v| (v - wanted).abs() < 1e-9))
            .copied()
    }

    /// The experiment code in the second file-name field. The benchmark's toolbox ignores it;
    /// `eid`, `nse` and `cop` are the codes of the released eidolon, noise and contrast files.
    pub fn file_code(self) -> &'static str {
        match self {
            HaDataset::Colour => "col",
            HaDataset::Contrast => "cop",
            HaDataset::HighPass => "hip",
            HaDataset::LowPass => "lop",
            HaDataset::PhaseScrambling => "pha",
            HaDataset::PowerEqualisation => "pow",
            HaDataset::FalseColour => "fal",
            HaDataset::Rotation => "rot",
            HaDataset::EidolonI | HaDataset::EidolonII | HaDataset::EidolonIII => "eid",
            HaDataset::UniformNoise => "nse",
            HaDataset::Sketch => "ske",
            HaDataset::Stylized => "sty",
            HaDataset::Edge => "edg",
            HaDataset::Silhouette => "sil",
            HaDataset::CueConflict => "cue",
        }
    }
}

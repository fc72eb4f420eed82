//! How strongly a series is drawn: several seeds' curves faintly behind their bold mean.

use serde::{Deserialize, Serialize};

/// A series' stroke: [`LineWeight::Faint`] is thinner and its colour mixed with white (so the
/// legend shows it as drawn), [`LineWeight::Bold`] thicker.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum LineWeight {
    Faint,
    #[default]
    Normal,
    Bold,
}

impl LineWeight {
    /// Line width relative to the panel's normal width.
    pub fn width_factor(self) -> f64 {
        match self {
            LineWeight::Faint => 0.6,
            LineWeight::Normal => 1.0,
            LineWeight::Bold => 1.8,
        }
    }

    /// The colour a series of this weight is drawn in.
    pub fn tint(self, color: [u8; 3]) -> [u8; 3] {
        match self {
            // 60% towards white: visible on the grid, clearly behind the mean.
            LineWeight::Faint => {
                color.map(|c| (f64::from(c) + 0.6 * (255.0 - f64::from(c))).round() as u8)
            }
            _ => color,
        }
    }
}

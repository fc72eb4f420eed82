//! "Nice" axis ranges, tick positions and tick labels.
//!
//! Ticks are multiples of 1, 2 or 5 x 10^k, the steps readers can add up in
//! their head. The renderer picks the finest step whose labels still fit the
//! pixels available, so labels never overlap whatever the panel size.

use super::TickFormat;

/// Ticks are chosen to number at least this many when the labels allow it.
pub const MIN_TICKS: usize = 4;
/// Ticks never number more than this.
pub const MAX_TICKS: usize = 8;

/// Fraction of the data span added on each side of an automatic range, so
/// markers at the extremes are not cut in half by the frame.
const AUTO_MARGIN: f64 = 0.05;

/// A tick step `mantissa x 10^exponent` with `mantissa` in {1, 2, 5}; kept in
/// this form so tick values and decimals can be computed without drift.
#[derive(Clone, Copy, Debug)]
struct Step {
    mantissa: i64,
    exponent: i32,
}

impl Step {
    fn value(self) -> f64 {
        self.mantissa as f64 * 10f64.powi(self.exponent)
    }

    /// `i x step`, computed as an integer scaled once by a power of ten so
    /// that e.g. 3 x 0.1 comes out as 0.3 rather than 0.30000000000000004.
    fn multiple(self, i: i64) -> f64 {
        let n = (i * self.mantissa) as f64;
        if self.exponent >= 0 {
            n * 10f64.powi(self.exponent)
        } else {
            n / 10f64.powi(-self.exponent)
        }
    }
}

/// Tick positions and their labels for one axis.
#[derive(Clone, Debug, PartialEq)]
pub struct Ticks {
    pub values: Vec<f64>,
    pub labels: Vec<String>,
}

/// Candidate steps from fine to coarse around the span's magnitude.
fn candidate_steps(span: f64) -> impl Iterator<Item = Step> {
    let base = span.log10().floor() as i32;
    ((base - 2)..=(base + 1))
        .flat_map(|exponent| [1, 2, 5].map(|mantissa| Step { mantissa, exponent }))
}

/// All multiples of `step` inside `[lo, hi]` (with a hair of tolerance so a
/// range such as 0..1 includes both ends).
fn ticks_for_step(lo: f64, hi: f64, step: Step) -> Vec<f64> {
    let s = step.value();
    let eps = 1e-9;
    let first = (lo / s - eps).ceil();
    let last = (hi / s + eps).floor();
    // Huge offsets relative to the step would overflow the integer multiples.
    let representable = first.abs() < 1e15 && last.abs() < 1e15;
    if !representable || last < first || last - first > 1000.0 {
        return Vec::new();
    }
    (first as i64..=last as i64)
        .map(|i| step.multiple(i))
        .map(|v| if v == 0.0 { 0.0 } else { v }) // no "-0"
        .collect()
}

/// Formats `value` for an axis whose tick step is `step`, so every label
/// carries exactly the decimals the step needs.
fn format_with_step(value: f64, step: Step, magnitude: f64, format: TickFormat) -> String {
    match format {
        TickFormat::Percent => {
            let decimals = (-(step.exponent + 2)).max(0) as usize;
            let pct = value * 100.0;
            let pct = if pct.abs() < 1e-12 { 0.0 } else { pct };
            format!("{pct:.decimals$}%")
        }
        TickFormat::Plain => {
            if value == 0.0 {
                return "0".to_string();
            }
            if !(1e-3..1e5).contains(&magnitude) {
                return format_scientific(value);
            }
            let decimals = (-step.exponent).max(0) as usize;
            format!("{value:.decimals$}")
        }
    }
}

/// Compact scientific notation ("2e-6", "1.5e6") for very small or very large
/// magnitudes, where fixed notation would produce unreadably long labels.
fn format_scientific(value: f64) -> String {
    let mut exponent = value.abs().log10().floor() as i32;
    let mut mantissa = value / 10f64.powi(exponent);
    if mantissa.abs() >= 9.9995 {
        // log10 rounding put us one decade low ("10e-7"); renormalise.
        mantissa /= 10.0;
        exponent += 1;
    }
    let mut m = format!("{mantissa:.3}");
    while m.ends_with('0') {
        m.pop();
    }
    if m.ends_with('.') {
        m.pop();
    }
    format!("{m}e{exponent}")
}

/// Ticks for the range `lo..hi`, choosing the finest 1/2/5 step that yields at
/// most [`MAX_TICKS`] ticks and for which `fits(labels, spacing)` holds, where
/// `spacing` is the distance between neighbouring ticks as a fraction of the
/// range. Steps giving at least [`MIN_TICKS`] ticks are preferred; otherwise
/// the finest step that fits is used (possibly a single tick), and only if no
/// multiple of any step falls in the range are its endpoints labelled.
pub fn choose_ticks(
    lo: f64,
    hi: f64,
    format: TickFormat,
    fits: impl Fn(&[String], f64) -> bool,
) -> Ticks {
    let span = hi - lo;
    if !(span.is_finite() && span > 0.0) {
        return Ticks {
            values: vec![],
            labels: vec![],
        };
    }
    let magnitude = lo.abs().max(hi.abs());
    let build = |step: Step| {
        let values = ticks_for_step(lo, hi, step);
        let labels = values
            .iter()
            .map(|&v| format_with_step(v, step, magnitude, format))
            .collect::<Vec<_>>();
        Ticks { values, labels }
    };
    let mut fallback: Option<Ticks> = None;
    for step in candidate_steps(span) {
        let ticks = build(step);
        let n = ticks.values.len();
        if n == 0 || n > MAX_TICKS {
            continue;
        }
        // A lone tick has no neighbour to collide with.
        let distinct = ticks.labels.windows(2).all(|w| w[0] != w[1]);
        if n > 1 && (!distinct || !fits(&ticks.labels, step.value() / span)) {
            continue;
        }
        if n >= MIN_TICKS {
            return ticks;
        }
        // Keep the first (finest) acceptable step with too few ticks.
        fallback.get_or_insert(ticks);
    }
    fallback.unwrap_or_else(|| {
        // Nothing fits: show only the ends of the span rather than a jumble.
        let values = vec![lo, hi];
        let labels = values
            .iter()
            .map(|&v| {
                format_with_step(
                    v,
                    Step {
                        mantissa: 1,
                        exponent: span.log10().floor() as i32 - 1,
                    },
                    magnitude,
                    format,
                )
            })
            .collect();
        Ticks { values, labels }
    })
}

/// Ticks for `lo..hi` with no constraint from label sizes: 4 to 8 ticks at a
/// 1/2/5 step, labelled in `format` (e.g. 0..1 gives 0, 0.2, ..., 1).
pub fn nice_ticks(lo: f64, hi: f64, format: TickFormat) -> Ticks {
    choose_ticks(lo, hi, format, |_, _| true)
}

/// Turns the finite extent `[min, max]` of the data into a displayed range:
/// a 5% margin on each side, and a sensible window around a constant value
/// (whose span would otherwise be zero and make the mapping divide by zero).
pub fn padded_range(min: f64, max: f64) -> (f64, f64) {
    let span = max - min;
    let magnitude = min.abs().max(max.abs());
    if span <= magnitude * 1e-12 || span == 0.0 {
        let half = if magnitude > 0.0 {
            magnitude * 0.1
        } else {
            1.0
        };
        return (min - half, max + half);
    }
    (min - span * AUTO_MARGIN, max + span * AUTO_MARGIN)
}

/// Validates a caller-supplied range: non-finite or inverted ranges are
/// ignored (`None`), and a zero-span range is widened like constant data.
pub fn sanitize_range(range: Option<(f64, f64)>) -> Option<(f64, f64)> {
    let (lo, hi) = range?;
    if !(lo.is_finite() && hi.is_finite()) || lo > hi {
        return None;
    }
    if hi - lo <= lo.abs().max(hi.abs()) * 1e-12 {
        return Some(padded_range(lo, hi));
    }
    Some((lo, hi))
}

/// Running min/max over the finite values offered to it.
#[derive(Clone, Copy, Debug, Default)]
pub struct Extent {
    pub bounds: Option<(f64, f64)>,
}

impl Extent {
    pub fn add(&mut self, v: f64) {
        if !v.is_finite() {
            return;
        }
        self.bounds = Some(match self.bounds {
            None => (v, v),
            Some((lo, hi)) => (lo.min(v), hi.max(v)),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: &[f64], b: &[f64]) -> bool {
        a.len() == b.len()
            && a.iter()
                .zip(b)
                .all(|(x, y)| (x - y).abs() < 1e-12 * (1.0 + y.abs()))
    }

    #[test]
    fn unit_range_gets_fifths() {
        let t = nice_ticks(0.0, 1.0, TickFormat::Plain);
        assert!(close(&t.values, &[0.0, 0.2, 0.4, 0.6, 0.8, 1.0]), "{t:?}");
        assert_eq!(t.labels, ["0", "0.2", "0.4", "0.6", "0.8", "1.0"]);
    }

    #[test]
    fn interior_range_ticks_stay_inside() {
        let t = nice_ticks(0.13, 0.87, TickFormat::Plain);
        assert!(
            close(&t.values, &[0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8]),
            "{t:?}"
        );
        assert_eq!(t.labels[0], "0.2");
        assert!(t.values.iter().all(|v| (0.13..=0.87).contains(v)));
    }

    #[test]
    fn tick_counts_stay_within_bounds_over_many_ranges() {
        for &(lo, hi) in &[
            (0.0, 7.3),
            (-3.2, 11.0),
            (0.61, 0.63),
            (1e3, 1e3 + 0.5),
            (-1e-7, 3e-7),
            (2e8, 9e8),
        ] {
            let t = nice_ticks(lo, hi, TickFormat::Plain);
            assert!(
                (MIN_TICKS..=MAX_TICKS).contains(&t.values.len()),
                "{lo}..{hi}: {t:?}"
            );
            assert!(t.values.windows(2).all(|w| w[0] < w[1]));
            assert!(t.labels.windows(2).all(|w| w[0] != w[1]), "{t:?}");
        }
    }

    #[test]
    fn tiny_and_huge_magnitudes_use_scientific_labels() {
        let tiny = nice_ticks(0.0, 1e-6, TickFormat::Plain);
        assert!(
            close(&tiny.values, &[0.0, 2e-7, 4e-7, 6e-7, 8e-7, 1e-6]),
            "{tiny:?}"
        );
        assert_eq!(tiny.labels, ["0", "2e-7", "4e-7", "6e-7", "8e-7", "1e-6"]);
        let huge = nice_ticks(0.0, 3e9, TickFormat::Plain);
        assert_eq!(
            huge.labels,
            ["0", "5e8", "1e9", "1.5e9", "2e9", "2.5e9", "3e9"]
        );
        let thousands = nice_ticks(0.0, 4000.0, TickFormat::Plain);
        assert_eq!(thousands.labels, ["0", "1000", "2000", "3000", "4000"]);
    }

    #[test]
    fn percent_labels() {
        let t = nice_ticks(0.0, 0.8, TickFormat::Percent);
        assert_eq!(t.labels, ["0%", "20%", "40%", "60%", "80%"]);
        let fine = nice_ticks(0.0, 0.04, TickFormat::Percent);
        assert_eq!(fine.labels, ["0%", "1%", "2%", "3%", "4%"]);
        let finer = nice_ticks(0.001, 0.005, TickFormat::Percent);
        assert_eq!(finer.labels, ["0.1%", "0.2%", "0.3%", "0.4%", "0.5%"]);
    }

    #[test]
    fn negative_ranges_have_no_negative_zero() {
        let t = nice_ticks(-1.0, 1.0, TickFormat::Plain);
        assert!(t.labels.contains(&"0".to_string()));
        assert!(!t.labels.iter().any(|l| l == "-0" || l == "-0.0"));
        assert_eq!(t.labels[0], "-1.0");
    }

    #[test]
    fn label_fit_constraint_coarsens_ticks() {
        // Pretend each label needs a quarter of the axis: at most 4 fit.
        let t = choose_ticks(0.0, 1.0, TickFormat::Plain, |labels, spacing| {
            spacing >= 0.25 && labels.len() <= 5
        });
        assert!(t.values.len() <= 5 && t.values.len() >= 2, "{t:?}");
        // Nothing fits at all: a single tick cannot collide.
        let t = choose_ticks(0.0, 1.0, TickFormat::Plain, |_, _| false);
        assert_eq!(t.values.len(), 1);
    }

    #[test]
    fn degenerate_ranges() {
        assert!(nice_ticks(1.0, 1.0, TickFormat::Plain).values.is_empty());
        assert!(
            nice_ticks(f64::NAN, 1.0, TickFormat::Plain)
                .values
                .is_empty()
        );
        assert!(
            nice_ticks(0.0, f64::INFINITY, TickFormat::Plain)
                .values
                .is_empty()
        );
        assert_eq!(padded_range(0.5, 0.5), (0.45, 0.55));
        assert_eq!(padded_range(0.0, 0.0), (-1.0, 1.0));
        let (lo, hi) = padded_range(0.0, 1.0);
        assert!((lo + 0.05).abs() < 1e-12 && (hi - 1.05).abs() < 1e-12);
        assert_eq!(sanitize_range(Some((2.0, 1.0))), None);
        assert_eq!(sanitize_range(Some((0.0, f64::NAN))), None);
        assert_eq!(sanitize_range(Some((0.0, 1.0))), Some((0.0, 1.0)));
    }
}

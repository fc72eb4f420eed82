//! What several benches share: the median of repeated timings and their `--reps N` option.

use std::time::Instant;

/// Median seconds of `reps` runs of `f` after one warm-up.
pub fn median_seconds(reps: usize, mut f: impl FnMut()) -> f64 {
    f();
    let mut times: Vec<f64> = (0..reps)
        .map(|_| {
            let started = Instant::now();
            f();
            started.elapsed().as_secs_f64()
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

/// The `N` of `--reps N` among `args`, at least 1; `None` when the option is absent.
pub fn reps_option(args: &[String]) -> Option<usize> {
    args.iter()
        .position(|a| a == "--reps")
        .and_then(|i| args.get(i + 1))
        .map(|n| n.parse::<usize>().expect("--reps N").max(1))
}

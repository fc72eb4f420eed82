//! Quadrature rules on [0, 1] for Integrated Gradients' path integral, as captum offers them.

pub use crate::spec::attribution::Quadrature;

impl Quadrature {
    /// `(alphas, weights)` of an `steps`-point rule on [0, 1]; the weights sum to 1.
    pub fn rule(self, steps: usize) -> (Vec<f64>, Vec<f64>) {
        assert!(steps >= 1, "a quadrature rule needs at least one step");
        let n = steps as f64;
        match self {
            Quadrature::GaussLegendre => gauss_legendre(steps),
            Quadrature::RiemannLeft => (
                (0..steps).map(|k| k as f64 / n).collect(),
                vec![1.0 / n; steps],
            ),
            Quadrature::RiemannRight => (
                (1..=steps).map(|k| k as f64 / n).collect(),
                vec![1.0 / n; steps],
            ),
            Quadrature::RiemannMiddle => (
                (0..steps).map(|k| (k as f64 + 0.5) / n).collect(),
                vec![1.0 / n; steps],
            ),
            Quadrature::RiemannTrapezoid if steps == 1 => (vec![0.5], vec![1.0]),
            Quadrature::RiemannTrapezoid => {
                let h = 1.0 / (n - 1.0);
                let alphas = (0..steps).map(|k| k as f64 * h).collect();
                let mut weights = vec![h; steps];
                weights[0] /= 2.0;
                weights[steps - 1] /= 2.0;
                (alphas, weights)
            }
        }
    }
}

/// Gauss-Legendre nodes and weights mapped from [-1, 1] to [0, 1], nodes ascending. Newton's
/// method on the Legendre polynomial from the usual cosine guesses, in f64.
fn gauss_legendre(steps: usize) -> (Vec<f64>, Vec<f64>) {
    let n = steps;
    let mut nodes = Vec::with_capacity(n);
    let mut weights = Vec::with_capacity(n);
    for i in 0..n {
        let mut x = (std::f64::consts::PI * (i as f64 + 0.75) / (n as f64 + 0.5)).cos();
        let mut derivative = 0.0;
        for _ in 0..100 {
            // P_n(x) and P_{n-1}(x) by the three-term recurrence from P_0 = 1, P_1 = x.
            let (mut p_prev, mut p) = (1.0, x);
            for k in 2..=n {
                let k = k as f64;
                let next = ((2.0 * k - 1.0) * x * p - (k - 1.0) * p_prev) / k;
                p_prev = p;
                p = next;
            }
            derivative = n as f64 * (x * p - p_prev) / (x * x - 1.0);
            let step = p / derivative;
            x -= step;
            if step.abs() < 1e-15 {
                break;
            }
        }
        nodes.push(x);
        weights.push(2.0 / ((1.0 - x * x) * derivative * derivative));
    }
    let mut pairs: Vec<(f64, f64)> = nodes
        .into_iter()
        .zip(weights)
        .map(|(x, w)| ((x + 1.0) / 2.0, w / 2.0))
        .collect();
    pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
    pairs.into_iter().unzip()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn integrate(rule: Quadrature, steps: usize, f: impl Fn(f64) -> f64) -> f64 {
        let (alphas, weights) = rule.rule(steps);
        alphas.iter().zip(&weights).map(|(&a, &w)| w * f(a)).sum()
    }

    #[test]
    fn weights_sum_to_one_and_nodes_lie_in_the_interval() {
        for rule in [
            Quadrature::GaussLegendre,
            Quadrature::RiemannLeft,
            Quadrature::RiemannRight,
            Quadrature::RiemannMiddle,
            Quadrature::RiemannTrapezoid,
        ] {
            for steps in [1, 2, 7, 50] {
                let (alphas, weights) = rule.rule(steps);
                assert_eq!(alphas.len(), steps);
                assert!(
                    (weights.iter().sum::<f64>() - 1.0).abs() < 1e-12,
                    "{rule:?} {steps}"
                );
                assert!(alphas.iter().all(|a| (0.0..=1.0).contains(a)));
            }
        }
    }

    #[test]
    fn gauss_legendre_is_exact_to_degree_2n_minus_1() {
        // n = 5 integrates x^9 exactly (1/10) but not x^10 (1/11).
        let exact9 = integrate(Quadrature::GaussLegendre, 5, |x| x.powi(9));
        assert!((exact9 - 0.1).abs() < 1e-14, "{exact9}");
        let inexact10 = integrate(Quadrature::GaussLegendre, 5, |x| x.powi(10));
        assert!((inexact10 - 1.0 / 11.0).abs() > 1e-9);
        // The classic 2-point rule: nodes at 1/2 -+ 1/(2 sqrt 3).
        let (alphas, weights) = Quadrature::GaussLegendre.rule(2);
        assert!((alphas[0] - (0.5 - 0.5 / 3f64.sqrt())).abs() < 1e-15);
        assert!((weights[0] - 0.5).abs() < 1e-15);
    }

    #[test]
    fn riemann_rules_place_nodes_as_named() {
        assert_eq!(
            Quadrature::RiemannLeft.rule(4).0,
            vec![0.0, 0.25, 0.5, 0.75]
        );
        assert_eq!(Quadrature::RiemannRight.rule(2).0, vec![0.5, 1.0]);
        assert_eq!(Quadrature::RiemannMiddle.rule(2).0, vec![0.25, 0.75]);
        let (alphas, weights) = Quadrature::RiemannTrapezoid.rule(3);
        assert_eq!(alphas, vec![0.0, 0.5, 1.0]);
        assert_eq!(weights, vec![0.25, 0.5, 0.25]);
        // The trapezoid rule is exact for straight lines, the midpoint rule too.
        assert!(
            (integrate(Quadrature::RiemannTrapezoid, 3, |x| 3.0 * x + 1.0) - 2.5).abs() < 1e-15
        );
    }
}

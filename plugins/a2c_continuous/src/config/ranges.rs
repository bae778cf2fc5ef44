//! Range checks on `params.config` values and the environment's action bounds (issue 18): each
//! failure is one [`ErrorKind::Config`](rlhost_sdk::ErrorKind) line naming the key path and the
//! allowed range (`params.config.gamma: must be in (0, 1], got 2`).
use rlhost_model::section::{config_error, ConfigResult};

/// An allowed interval of a number; NaN is in none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Range {
    /// (0, inf).
    Positive,
    /// [0, inf).
    NonNegative,
    /// (0, 1].
    UnitOpenClosed,
    /// [1, inf).
    AtLeastOne,
    /// (-inf, inf).
    Finite,
}

impl Range {
    fn contains(self, x: f64) -> bool {
        x.is_finite()
            && match self {
                Range::Positive => x > 0.0,
                Range::NonNegative => x >= 0.0,
                Range::UnitOpenClosed => x > 0.0 && x <= 1.0,
                Range::AtLeastOne => x >= 1.0,
                Range::Finite => true,
            }
    }

    fn text(self) -> &'static str {
        match self {
            Range::Positive => "must be in (0, inf)",
            Range::NonNegative => "must be in [0, inf)",
            Range::UnitOpenClosed => "must be in (0, 1]",
            Range::AtLeastOne => "must be in [1, inf)",
            Range::Finite => "must be a finite number",
        }
    }
}

/// Fails naming `path` unless `value` lies in `range`.
pub fn check(path: &str, value: f64, range: Range) -> ConfigResult<f64> {
    if range.contains(value) {
        Ok(value)
    } else {
        Err(config_error(path, format!("{}, got {value}", range.text())))
    }
}

/// Fails naming `low_path` unless `low <= high`.
pub fn ordered(low_path: &str, low: f64, high_path: &str, high: f64) -> ConfigResult<()> {
    if low <= high {
        Ok(())
    } else {
        Err(config_error(low_path, format!("must be <= {high_path} ({high}), got {low}")))
    }
}

/// With `params.config.clip_actions`, the environment's box bounds must be finite with low <= high.
pub fn check_action_bounds(low: &[f32], high: &[f32]) -> ConfigResult<()> {
    for (i, (&l, &h)) in low.iter().zip(high).enumerate() {
        if !(l.is_finite() && h.is_finite() && l <= h) {
            return Err(config_error(
                "params.config.clip_actions",
                format!(
                    "the environment's action bounds must be finite with low <= high to rescale actions, got \
                     [{l}, {h}] for action {i} (fix the environment or set clip_actions: false)"
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_name_the_key_and_the_interval() {
        let e = check("params.config.gamma", 2.0, Range::UnitOpenClosed).unwrap_err();
        assert_eq!(e.message.as_str(), "params.config.gamma: must be in (0, 1], got 2");
        assert_eq!(check("p.x", 1.0, Range::UnitOpenClosed).unwrap(), 1.0);
        assert!(check("p.x", 0.0, Range::UnitOpenClosed).is_err());
        assert!(check("p.x", f64::NAN, Range::Positive).is_err());
        assert!(check("p.x", f64::INFINITY, Range::Positive).is_err());
        assert!(check("p.x", 0.0, Range::NonNegative).is_ok());
        assert!(check("p.x", f64::NEG_INFINITY, Range::Finite).is_err());
        let e = ordered("params.config.min_lr", 0.1, "params.config.max_lr", 0.01).unwrap_err();
        assert_eq!(e.message.as_str(), "params.config.min_lr: must be <= params.config.max_lr (0.01), got 0.1");
    }

    #[test]
    fn action_bounds_must_be_finite_and_ordered() {
        assert!(check_action_bounds(&[-1.0, 0.0], &[1.0, 0.0]).is_ok());
        let e = check_action_bounds(&[-1.0, 2.0], &[1.0, -2.0]).unwrap_err();
        assert_eq!(
            e.message.as_str(),
            "params.config.clip_actions: the environment's action bounds must be finite with low <= high to rescale actions, got [2, -2] for action 1 (fix the environment or set clip_actions: false)"
        );
        assert!(check_action_bounds(&[f32::NEG_INFINITY], &[1.0]).is_err());
        assert!(check_action_bounds(&[f32::NAN], &[1.0]).is_err());
    }
}

//! What an environment observes and accepts: named observation tensors and action spaces.
use crate::tensor::DlDataType;
use abi_stable::std_types::{RString, RVec};
use abi_stable::StableAbi;

/// The name of the policy's observation group (Isaac Lab's `policy`).
pub const OBS: &str = "obs";
/// The name of the privileged critic observation group (Isaac Lab's `critic`).
pub const STATES: &str = "states";

/// One observation tensor of one environment (no batch dimension), as a Gymnasium `Box`.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq)]
pub struct TensorSpec {
    /// The group name: [`OBS`], [`STATES`], or another an algorithm may ask for.
    pub name: RString,
    /// Shape of one environment's tensor, for example `[3]` or `[64, 64, 3]`.
    pub shape: RVec<i64>,
    /// Element type: float32 or uint8 (images).
    pub dtype: DlDataType,
    /// Lower bound per element (may be `-inf`); empty when unbounded.
    pub low: RVec<f32>,
    /// Upper bound per element (may be `inf`); empty when unbounded.
    pub high: RVec<f32>,
}

impl TensorSpec {
    /// A float32 tensor with per-element bounds.
    pub fn float32(name: &str, shape: &[i64], low: Vec<f32>, high: Vec<f32>) -> Self {
        TensorSpec {
            name: name.into(),
            shape: shape.into(),
            dtype: DlDataType::F32,
            low: low.into(),
            high: high.into(),
        }
    }

    /// Number of elements of one environment's tensor.
    pub fn numel(&self) -> i64 {
        self.shape.iter().product()
    }
}

/// The action space of one environment.
///
/// Non-exhaustive across the boundary ([`ActionSpace_NE`]): a later 2.x may add spaces. Only
/// [`ActionSpace::Box`] is trained by today's algorithms; the contract carries all three.
#[non_exhaustive]
#[repr(u8)]
#[derive(StableAbi, Debug, Clone, PartialEq)]
#[sabi(kind(WithNonExhaustive(size = [usize; 12], traits(Debug, Clone, PartialEq))))]
pub enum ActionSpace {
    /// Continuous actions: float32 (N, A) in `[low, high]` per dimension.
    Box {
        /// Lower bound per action dimension.
        low: RVec<f32>,
        /// Upper bound per action dimension.
        high: RVec<f32>,
    },
    /// One choice of `n`: int64 (N,).
    Discrete {
        /// Number of choices.
        n: i64,
    },
    /// One choice per dimension: int64 (N, K), dimension k has `nvec[k]` choices.
    MultiDiscrete {
        /// Choices per dimension.
        nvec: RVec<i64>,
    },
}

impl ActionSpace {
    /// Number of action dimensions (1 for discrete).
    pub fn dim(&self) -> usize {
        match self {
            ActionSpace::Box { low, .. } => low.len(),
            ActionSpace::Discrete { .. } => 1,
            ActionSpace::MultiDiscrete { nvec } => nvec.len(),
        }
    }

    /// A short description such as `box(1)` or `discrete(4)`, for error messages.
    pub fn describe(&self) -> String {
        match self {
            ActionSpace::Box { low, .. } => format!("box({})", low.len()),
            ActionSpace::Discrete { n } => format!("discrete({n})"),
            ActionSpace::MultiDiscrete { nvec } => format!("multi_discrete({:?})", nvec.as_slice()),
        }
    }
}

/// When an environment that finished an episode starts the next one.
#[non_exhaustive]
#[repr(u8)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq)]
#[sabi(kind(WithNonExhaustive(size = [u8; 8], align = u64, traits(Debug, Clone, PartialEq, Eq))))]
pub enum AutoReset {
    /// The observation returned on a done step is already the next episode's first (Isaac Lab).
    SameStep,
    /// The next step after a done step resets (Gymnasium 1.x vector envs' default).
    NextStep,
}

//! The caller-allocated buffers of one environment step, and the check that a callee wrote into
//! them instead of replacing them.
use crate::tensor::{kind_of, tch_device, tensor_from_view, ViewParts};
use rlhost_plugin_api::{EnvInfo, ErrorKind, PluginError, StepOutput, TensorSpec, TensorView};
use std::sync::Arc;
use tch::{Device, Kind, Tensor};

/// Where a buffer lives and what it holds: if any of it changed, the callee replaced the tensor.
#[derive(Debug, Clone, PartialEq)]
struct Identity {
    data: usize,
    shape: Vec<i64>,
    kind: Kind,
}

impl Identity {
    fn of(t: &Tensor) -> Self {
        Identity { data: t.data_ptr() as usize, shape: t.size(), kind: t.kind() }
    }
}

/// (N, *shape) zeros of a spec's dtype on `device`.
pub fn zeros_for(spec: &TensorSpec, num_envs: i64, device: Device) -> Result<Tensor, PluginError> {
    let kind = kind_of(spec.dtype).ok_or_else(|| {
        PluginError::new(ErrorKind::Shape, format!("observation '{}': unsupported dtype {}", spec.name, spec.dtype))
    })?;
    let mut shape = vec![num_envs];
    shape.extend(spec.shape.iter());
    Ok(Tensor::zeros(shape, (kind, device)))
}

/// One step's outputs: observations per group, rewards, terminated and truncated flags.
///
/// The fields are private: a callee gets `&mut` access to write into each buffer (`copy_`,
/// `fill_`), and [`StepBuffers::check_unchanged`] catches one that assigned a new tensor.
#[derive(Debug)]
pub struct StepBuffers {
    names: Arc<[String]>,
    observations: Vec<Tensor>,
    rewards: Tensor,
    terminated: Tensor,
    truncated: Tensor,
}

impl StepBuffers {
    /// Zeroed buffers for `info` on `device`.
    pub fn new(info: &EnvInfo, device: Device) -> Result<Self, PluginError> {
        let n = info.num_envs as i64;
        let observations = info.observations.iter().map(|s| zeros_for(s, n, device)).collect::<Result<_, _>>()?;
        Ok(StepBuffers {
            names: group_names(info),
            observations,
            rewards: Tensor::zeros([n], (Kind::Float, device)),
            terminated: Tensor::zeros([n], (Kind::Bool, device)),
            truncated: Tensor::zeros([n], (Kind::Bool, device)),
        })
    }

    /// Wraps the step buffers a caller passed as views, without copying.
    ///
    /// # Safety
    /// The views must be valid for the current call, and the tensors must be dropped before it returns.
    pub unsafe fn from_views(names: &Arc<[String]>, out: &StepOutput<'_>) -> Result<Self, PluginError> {
        Ok(StepBuffers {
            names: Arc::clone(names),
            observations: out.observations.iter().map(|v| tensor_from_view(v)).collect::<Result<_, _>>()?,
            rewards: tensor_from_view(&out.rewards)?,
            terminated: tensor_from_view(&out.terminated)?,
            truncated: tensor_from_view(&out.truncated)?,
        })
    }

    /// The observation groups' names, in order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Every observation group, in [`EnvInfo::observations`] order.
    pub fn observations(&self) -> &[Tensor] {
        &self.observations
    }

    /// Group `i`'s observations (group 0 is the policy's).
    pub fn obs(&self, i: usize) -> &Tensor {
        &self.observations[i]
    }

    /// Group `i`'s buffer, to write into.
    pub fn obs_mut(&mut self, i: usize) -> &mut Tensor {
        &mut self.observations[i]
    }

    /// Every observation buffer, to write into.
    pub fn observations_mut(&mut self) -> &mut [Tensor] {
        &mut self.observations
    }

    /// (N,) float32 rewards.
    pub fn rewards(&self) -> &Tensor {
        &self.rewards
    }

    /// The reward buffer, to write into.
    pub fn rewards_mut(&mut self) -> &mut Tensor {
        &mut self.rewards
    }

    /// (N,) bool terminal flags.
    pub fn terminated(&self) -> &Tensor {
        &self.terminated
    }

    /// The terminal-flag buffer, to write into.
    pub fn terminated_mut(&mut self) -> &mut Tensor {
        &mut self.terminated
    }

    /// (N,) bool time-out flags.
    pub fn truncated(&self) -> &Tensor {
        &self.truncated
    }

    /// The time-out buffer, to write into.
    pub fn truncated_mut(&mut self) -> &mut Tensor {
        &mut self.truncated
    }

    /// `terminated | truncated`.
    pub fn dones(&self) -> Tensor {
        self.terminated.logical_or(&self.truncated)
    }

    /// Views of every buffer, for a call across the boundary.
    pub fn view_parts(&self) -> Result<StepViewParts, PluginError> {
        Ok(StepViewParts {
            observations: self.observations.iter().map(ViewParts::of).collect::<Result<_, _>>()?,
            rewards: ViewParts::of(&self.rewards)?,
            terminated: ViewParts::of(&self.terminated)?,
            truncated: ViewParts::of(&self.truncated)?,
        })
    }

    /// A record of where every buffer lives, for [`StepBuffers::check_unchanged`]: observation
    /// groups in order, then rewards, terminated, truncated.
    pub fn identities(&self) -> BufferIdentities {
        let all = self.observations.iter().chain([&self.rewards, &self.terminated, &self.truncated]);
        BufferIdentities(all.map(Identity::of).collect())
    }

    /// Fails naming the first buffer `who` replaced (a new tensor) instead of writing into.
    pub fn check_unchanged(&self, before: &BufferIdentities, who: &str) -> Result<(), PluginError> {
        before.check(&self.identities(), who, |i| match i.checked_sub(self.names.len()) {
            None => format!("observations '{}'", self.names[i]),
            Some(0) => "rewards".into(),
            Some(1) => "terminated".into(),
            Some(_) => "truncated".into(),
        })
    }
}

/// The observation group names of `info`, shared by every step's buffers.
pub fn group_names(info: &EnvInfo) -> Arc<[String]> {
    info.observations.iter().map(|s| s.name.to_string()).collect()
}

/// Where each buffer of a step lived before a call (names are made only for an error message).
#[derive(Debug, Clone, PartialEq)]
pub struct BufferIdentities(Vec<Identity>);

impl BufferIdentities {
    /// Of a plain list of tensors (a reset's observation buffers).
    pub fn of(tensors: &[Tensor]) -> Self {
        BufferIdentities(tensors.iter().map(Identity::of).collect())
    }

    /// Fails naming (through `name_of(index)`) the first buffer whose memory, shape or dtype
    /// differs in `after`.
    pub fn check(
        &self,
        after: &BufferIdentities,
        who: &str,
        name_of: impl Fn(usize) -> String,
    ) -> Result<(), PluginError> {
        for (i, (was, now)) in self.0.iter().zip(&after.0).enumerate() {
            if was != now {
                let name = name_of(i);
                return Err(PluginError::new(
                    ErrorKind::Shape,
                    format!(
                        "{who} replaced its {name} output (now {:?} {:?}) instead of writing into the buffer it was given ({:?} {:?}); write with copy_",
                        now.kind, now.shape, was.kind, was.shape
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// The [`ViewParts`] of every buffer of a step, kept alive while its views cross the boundary.
#[derive(Debug)]
pub struct StepViewParts {
    observations: Vec<ViewParts>,
    rewards: ViewParts,
    terminated: ViewParts,
    truncated: ViewParts,
}

impl StepViewParts {
    /// The observation views, to put in a [`StepOutput`] or pass to `reset`.
    pub fn observation_views(&self) -> Vec<TensorView<'_>> {
        self.observations.iter().map(ViewParts::view).collect()
    }

    /// The [`StepOutput`] borrowing these parts and `observations` (from [`Self::observation_views`]).
    pub fn output<'a>(&'a self, observations: &'a [TensorView<'a>]) -> StepOutput<'a> {
        StepOutput {
            observations: observations.into(),
            rewards: self.rewards.view(),
            terminated: self.terminated.view(),
            truncated: self.truncated.view(),
        }
    }
}

/// The tch device of an env's info.
pub fn info_device(info: &EnvInfo) -> Result<Device, PluginError> {
    tch_device(info.device)
}

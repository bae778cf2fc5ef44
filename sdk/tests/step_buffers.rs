//! The SDK's step contract: an environment writes into the buffers it is given; one that
//! replaces a buffer with a new tensor gets a one-line error naming it (it would otherwise train
//! on stale data with exit code 0).
use rlhost_sdk::api::{EnvExtra, EnvInfo, ExtraKind};
use rlhost_sdk::testing::ScriptedEnv;
use rlhost_sdk::{vec_env_box, EnvHandle, NativeVecEnv, PluginError, StepBuffers};
use tch::{Kind, Tensor};

/// A scripted env that, on its second step, assigns a fresh tensor to one output instead of
/// writing into it.
struct Replacing {
    inner: ScriptedEnv,
    steps: u32,
    which: &'static str,
}

impl NativeVecEnv for Replacing {
    fn info(&self) -> EnvInfo {
        self.inner.info()
    }
    fn reset(&mut self, observations: &mut [Tensor]) -> Result<(), PluginError> {
        self.inner.reset(observations)
    }
    fn step(&mut self, actions: &Tensor, out: &mut StepBuffers) -> Result<(), PluginError> {
        self.inner.step(actions, out)?;
        self.steps += 1;
        if self.steps == 2 {
            match self.which {
                "rewards" => *out.rewards_mut() = out.rewards().copy(),
                "states" => *out.obs_mut(1) = Tensor::zeros(out.obs(1).size(), (Kind::Float, tch::Device::Cpu)),
                _ => *out.truncated_mut() = out.truncated().logical_not(),
            }
        }
        Ok(())
    }
}

fn run(which: &'static str) -> Result<(), PluginError> {
    let inner = ScriptedEnv::new(vec![3, 4], 3, 2).with_states(4);
    let mut env = EnvHandle::new(vec_env_box(Replacing { inner, steps: 0, which })?)?;
    let out = env.step_buffers()?;
    env.reset(out.observations())?;
    let actions = Tensor::ones([2, 2], (Kind::Float, tch::Device::Cpu));
    for _ in 0..3 {
        env.step(&actions, &out)?;
    }
    Ok(())
}

#[test]
fn an_env_that_replaces_an_output_tensor_gets_one_line_naming_it() {
    for (which, name) in [("rewards", "rewards"), ("states", "observations 'states'"), ("truncated", "truncated")] {
        let err = run(which).unwrap_err();
        assert_eq!(err.kind(), rlhost_sdk::ErrorKind::Shape);
        assert!(
            err.message.starts_with(&format!("the environment replaced its {name} output")),
            "{which}: {}",
            err.message
        );
        assert!(!err.message.contains('\n'));
    }
}

#[test]
fn the_scripted_env_writes_every_group_and_reports_extras() {
    let mut env = ScriptedEnv::new(vec![2, 3], 3, 1).with_states(2);
    let info = env.info();
    assert_eq!(info.observations.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(), ["obs", "states"]);
    let mut out = StepBuffers::new(&info, tch::Device::Cpu).unwrap();
    env.reset(out.observations_mut()).unwrap();
    let actions = Tensor::from_slice(&[0.5f32, -1.0]).view([2, 1]);
    for _ in 0..2 {
        env.step(&actions, &mut out).unwrap();
    }
    // Env 0's two-step episodes ended (a time-out); env 1 is at step 2 of 3.
    assert_eq!(Vec::<bool>::try_from(out.truncated()).unwrap(), [true, false]);
    assert_eq!(Vec::<f32>::try_from(out.rewards()).unwrap(), [0.5, -1.0]);
    assert_eq!(Vec::<f32>::try_from(out.obs(0).view([-1])).unwrap(), [0.0, 0.0, 0.0, 2.0, 1.0, 0.0]);
    assert_eq!(Vec::<f32>::try_from(out.obs(1).view([-1])).unwrap(), [0.0, 0.0, 2.0, 1.0]);
    let extras: Vec<EnvExtra> = env.take_extras().unwrap();
    let find = |kind: ExtraKind| extras.iter().find(|e| e.kind.as_enum().ok() == Some(&kind)).unwrap();
    assert_eq!((find(ExtraKind::Log).value, find(ExtraKind::Log).count), (-0.25, 1), "the latest step's mean reward");
    assert_eq!((find(ExtraKind::Episode).value, find(ExtraKind::Episode).count), (1.0, 1));
    assert!(env.take_extras().unwrap().is_empty(), "taken once");
}

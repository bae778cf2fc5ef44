//! The exploration noise across checkpoints: libtorch's generator state is saved with the
//! checkpoint and restored in constant time; a checkpoint without it falls back to replaying the
//! noise draws of the epochs already trained (bounded, interruptible).
use crate::rollout::Rollout;
use rlhost_model::checkpoint::LoadedCheckpoint;
use rlhost_sdk::api::ObserverBox;
use rlhost_sdk::{ErrorKind, PluginError};
use tch::{Device, Kind, Tensor};

/// The training device's default generator state (uint8).
pub const GENERATOR_STATE: &str = "rng.generator_state";
/// Metadata: the kind of generator the state belongs to (`cpu` or `cuda`).
pub const GENERATOR_DEVICE: &str = "rng.device";
/// The most noise draws a fallback replay performs (about 10^7 small `randn` calls).
pub const MAX_REPLAY_DRAWS: u64 = 10_000_000;

/// The generator kind of `device` as written into the metadata.
pub fn device_kind(device: Device) -> &'static str {
    if device.is_cuda() {
        "cuda"
    } else {
        "cpu"
    }
}

/// The [`GENERATOR_STATE`] tensor to save, or why the state could not be read.
pub fn saved_state(device: Device) -> Result<Tensor, String> {
    let bytes = rlhost_torch_shim::generator_state(device).map_err(|e| e.to_string())?;
    Ok(Tensor::from_slice(&bytes))
}

/// How a restore puts the generator back.
pub enum RngRestore {
    /// Set this saved state (constant time).
    State(Vec<u8>),
    /// Replay the draws of this many epochs (a checkpoint without the state).
    Replay { epochs: u64 },
    /// Leave the generator as it is; the message says why.
    Keep(String),
}

/// Decides, before anything changes, how to restore the generator for a run on `device`.
/// `draws_per_epoch` is [`Rollout::draws_per_epoch`].
pub fn plan(
    ck: &LoadedCheckpoint,
    device: Device,
    epochs: u64,
    draws_per_epoch: u64,
) -> Result<RngRestore, PluginError> {
    if ck.has(GENERATOR_STATE) {
        let saved_on = ck.meta_opt(GENERATOR_DEVICE).unwrap_or("cpu").trim();
        if saved_on != device_kind(device) {
            return Ok(RngRestore::Keep(format!(
                "checkpoint's generator state is for {saved_on}, this run trains on {}: the exploration noise \
                 continues from this process's generator (not bitwise an uninterrupted run)",
                device_kind(device)
            )));
        }
        let n = match ck.shape(GENERATOR_STATE)?.as_slice() {
            [n] => *n,
            other => return Err(ck.error(format!("tensor '{GENERATOR_STATE}' has shape {other:?}, expected [bytes]"))),
        };
        let bytes = ck.tensor(GENERATOR_STATE, Kind::Uint8, &[n], Device::Cpu)?;
        let mut state = vec![0u8; n as usize];
        bytes.copy_data_u8(&mut state, n as usize);
        return Ok(RngRestore::State(state));
    }
    let draws = epochs.saturating_mul(draws_per_epoch);
    if draws > MAX_REPLAY_DRAWS {
        return Ok(RngRestore::Keep(format!(
            "checkpoint has no {GENERATOR_STATE} (written by an older a2c_continuous) and replaying the noise of \
             {epochs} epochs ({draws} draws) is over the limit of {MAX_REPLAY_DRAWS}: the exploration noise continues \
             from this process's generator (not bitwise an uninterrupted run)"
        )));
    }
    Ok(RngRestore::Replay { epochs })
}

/// Applies `plan`; `Err` leaves the generator as it was (a state the shim refuses) or reports a
/// replay stopped by the host.
pub fn apply(
    plan: RngRestore,
    ck: &LoadedCheckpoint,
    device: Device,
    rollout: &Rollout,
    observer: &ObserverBox,
) -> Result<(), PluginError> {
    match plan {
        RngRestore::State(state) => rlhost_torch_shim::set_generator_state(device, &state)
            .map_err(|e| ck.error(format!("tensor '{GENERATOR_STATE}' is not a valid generator state: {}", e.message))),
        RngRestore::Keep(why) => {
            observer.message(why.as_str().into());
            Ok(())
        }
        RngRestore::Replay { epochs } => {
            let per_epoch = rollout.draws_per_epoch();
            let line = format!(
                "checkpoint has no {GENERATOR_STATE} (written by an older a2c_continuous): replaying {} noise draws \
                 ({epochs} epochs x {per_epoch}) so the exploration noise continues exactly",
                epochs * per_epoch
            );
            observer.message(line.as_str().into());
            if rollout.skip_noise(epochs, &|| observer.should_stop()) {
                Ok(())
            } else {
                Err(PluginError::new(
                    ErrorKind::Interrupted,
                    format!("resume from '{}' interrupted while replaying the exploration noise", ck.path().display()),
                ))
            }
        }
    }
}

//! The host-provided observer: where plugins send logs, scalars and episode results.
use abi_stable::sabi_trait;
use abi_stable::std_types::{RBox, RSlice, RStr, RString};
use abi_stable::StableAbi;

/// One TensorBoard scalar: a tag (rl_games' names, such as `losses/a_loss`), an x value and a value.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq)]
pub struct Scalar {
    /// The tag, for example `rewards/step`.
    pub tag: RString,
    /// The x axis value (frames, epochs or seconds, as rl_games uses for that tag).
    pub step: i64,
    /// The value.
    pub value: f64,
}

/// Where an epoch stands, for the host's progress display.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq)]
pub struct EpochProgress {
    /// The epoch just finished (1-based).
    pub epoch: u64,
    /// The epoch limit, or -1.
    pub max_epochs: i64,
    /// Frames collected so far.
    pub frame: u64,
    /// The frame limit, or -1.
    pub max_frames: i64,
    /// Frames per second over the whole epoch.
    pub fps_total: f64,
    /// Mean episode return over the tracked window (NaN before any episode ends).
    pub mean_reward: f64,
}

/// Receives what a plugin reports. Implemented by the host; all methods are cheap.
#[sabi_trait]
pub trait Observer: Send + Sync {
    /// Records scalars (TensorBoard).
    fn scalars(&self, values: RSlice<'_, Scalar>);

    /// Prints a line of text (rl_games' console messages).
    fn message(&self, text: RStr<'_>);

    /// Reports the end of an epoch; the host writes the environment's extras for it.
    fn epoch(&self, progress: EpochProgress);

    /// Whether the user asked to stop (Ctrl-C); training saves a checkpoint and returns.
    // Methods added in a later 2.x go after this one, with a default body.
    #[sabi(last_prefix_field)]
    fn should_stop(&self) -> bool;
}

/// An owned, boxed observer.
pub type ObserverBox = Observer_TO<'static, RBox<()>>;

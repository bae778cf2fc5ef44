//! rl_games' central value network (docs/rl_games.md §4.17): the `central_value` model built from
//! `central_value_config.network` (`actor_critic` with `central_value: True`), an MLP trunk with an
//! optional RNN (placed as the policy's, [`recurrent_trunk`]) and a value head on the environment's
//! privileged `states`, with its own observation normaliser and the value normaliser of the agent.
//!
//! Parameters carry rl_games' names inside `CentralValueTrain` (`model.a2c_network.actor_mlp.<i>`,
//! `model.a2c_network.rnn.rnn.*`, `model.a2c_network.layer_norm.*`, `model.a2c_network.value`;
//! `model.running_mean_std`, `model.value_mean_std`); a checkpoint stores them under
//! [`CHECKPOINT_PREFIX`] (`assymetric_vf_nets.`, rl_games' spelling).
use crate::init::init_weight;
use crate::network::{activate, Linear, SeqInput};
use crate::normalizer::RunningMeanStd;
use crate::recurrent::{recurrent_trunk, LayerNorm, Recurrent, TrunkSizes};
use crate::section::{config_error, ConfigResult, Refusals, Section};
use crate::spec::{Activation, Arithmetic, MlpSpec, RnnSpec};
use rlhost_sdk::api::{ConfigKey, ValueType};
use tch::{Device, Kind, Tensor};

/// rl_games' checkpoint key of the central value module's state dict (sic: `assymetric`).
pub const CHECKPOINT_PREFIX: &str = "assymetric_vf_nets";
/// rl_games' checkpoint key of the central value optimiser's state.
pub const OPTIMIZER_PREFIX: &str = "assymetric_vf_optimizer";
/// The module path of the network inside `CentralValueTrain` (its state-dict prefix).
pub const MODULE: &str = "model";

/// `central_value_config.network`: what rl_games' `A2CBuilder` builds with `central_value: True`
/// and no `space` (the trunk is `actor_mlp`, the head `value`).
#[derive(Debug, Clone, PartialEq)]
pub struct ValueNetConfig {
    /// The hidden layers.
    pub mlp: MlpSpec,
    /// `rnn`: a recurrent layer, before or after the MLP as in the policy's network.
    pub rnn: Option<RnnSpec>,
    /// Activation on the value head.
    pub value_activation: Activation,
    /// How it computes; set by the algorithm from its own config.
    pub arithmetic: Arithmetic,
}

impl ValueNetConfig {
    /// Records the keys of this block that ask for something not built (the cnn tower, the
    /// identity RNN, normalisation, D2RL) or that rl_games 1.6.5 cannot run as a central value
    /// network.
    pub fn refusals(network: &Section<'_>, out: &mut Refusals) -> ConfigResult<()> {
        crate::spec::trunk_refusals(network, out)?;
        out.check(network, "cnn", "a CNN tower in the central value network");
        Ok(())
    }

    /// Parses the block. rl_games' network returns `(value, states)` only with `central_value:
    /// True`; without it (or with `separate`, whose branch ignores the flag) its forward returns a
    /// policy or nothing and training crashes, so both are refused here with the reason, as is a
    /// `space` (policy heads that would be built, drawn from the generator and never trained).
    pub fn parse(network: &Section<'_>) -> ConfigResult<Self> {
        let mut refused = Refusals::default();
        Self::refusals(network, &mut refused)?;
        refused.into_result()?;
        if !network.bool_or("central_value", false)? {
            return Err(config_error(
                &network.key_path("central_value"),
                "must be True for a central value network (rl_games' actor_critic returns a policy, or nothing, without it)",
            ));
        }
        if network.bool_or("separate", false)? {
            return Err(config_error(
                &network.key_path("separate"),
                "must be False in a central value network (rl_games' separate branch ignores central_value)",
            ));
        }
        if network.has("space") {
            return Err(config_error(
                &network.key_path("space"),
                "a central value network has no action space (rl_games would build unused policy heads)",
            ));
        }
        let mlp = MlpSpec::parse(&network.child_req("mlp")?)?;
        let rnn = RnnSpec::parse_in(network, &mlp)?;
        let value_activation =
            Activation::parse(&network.key_path("value_activation"), network.opt_str("value_activation")?)?;
        Ok(ValueNetConfig { mlp, rnn, value_activation, arithmetic: Arithmetic::default() })
    }
}

/// The `central_value_config.network` keys [`ValueNetConfig`] reads (or refuses), for the host's
/// typo warnings.
pub fn config_keys() -> Vec<ConfigKey> {
    use ValueType::*;
    [
        ("name", String),
        ("central_value", Bool),
        ("separate", Bool),
        ("normalization", Any),
        ("value_activation", String),
        ("cnn", Map),
        ("space", Map),
        ("mlp.units", List),
        ("mlp.activation", String),
        ("mlp.initializer", Map),
        ("mlp.d2rl", Bool),
        ("mlp.norm_only_first_layer", Bool),
        ("mlp.regularizer", Map),
    ]
    .into_iter()
    .map(|(path, ty)| ConfigKey::new(&format!("config.central_value_config.network.{path}"), ty))
    .chain(crate::spec::rnn_config_keys("config.central_value_config.network"))
    .collect()
}

/// The value network: `actor_mlp` (Linear + activation per hidden size), the optional RNN with
/// its layer norm, and a `value` Linear.
#[derive(Debug)]
pub struct ValueNet {
    cfg: ValueNetConfig,
    mlp: Vec<Linear>,
    rnn: Option<(Recurrent, Option<LayerNorm>)>,
    value: Linear,
}

impl ValueNet {
    /// Builds and initialises the network for `input_size` state features, drawing from the CPU
    /// generator exactly as rl_games' construction does (the CNN-sizing `torch.rand(1, *shape)`
    /// draw, the RNN's, then each Linear's default draws in registration order, then the
    /// initialiser), and moves it to `device` afterwards.
    pub fn new(cfg: &ValueNetConfig, input_size: i64, device: Device) -> Self {
        let _ = Tensor::rand([1, input_size], (Kind::Float, Device::Cpu));
        let sizes = TrunkSizes::new(cfg.rnn.as_ref(), input_size, &cfg.mlp.units);
        let rnn = cfg.rnn.map(|spec| {
            let cell = Recurrent::new(&spec, sizes.rnn_in);
            (cell, spec.layer_norm.then(|| LayerNorm::new(spec.units)))
        });
        let mut mlp = Vec::new();
        let mut fan_in = sizes.mlp_in;
        for &u in &cfg.mlp.units {
            mlp.push(Linear::new(fan_in, u));
            fan_in = u;
        }
        let value = Linear::new(sizes.features, 1);
        // §5.2: every Linear weight gets `mlp.initializer` (biases are already 0).
        for layer in mlp.iter().chain(std::iter::once(&value)) {
            init_weight(&layer.weight, &cfg.mlp.initializer);
        }
        ValueNet {
            cfg: cfg.clone(),
            mlp: mlp.iter().map(|l| l.to_device(device)).collect(),
            rnn: rnn.map(|(cell, norm)| (cell.to_device(device), norm.map(|n| n.to_device(device)))),
            value: value.to_device(device),
        }
    }

    /// Whether the network has a recurrent layer (its forward reads and returns states).
    pub fn is_rnn(&self) -> bool {
        self.rnn.is_some()
    }

    /// rl_games' `get_default_rnn_state`: zero states for `batch` sequences, (layers, batch,
    /// units) each, (h, c) or (h,); empty without an RNN.
    pub fn zero_rnn_states(&self, batch: i64, device: Device) -> Vec<Tensor> {
        self.rnn.as_ref().map_or_else(Vec::new, |(cell, _)| cell.zero_states(batch, device))
    }

    fn run_mlp(&self, x: &Tensor) -> Tensor {
        let mut h = x.shallow_clone();
        for layer in &self.mlp {
            h = activate(self.cfg.mlp.activation, layer.forward(&h), self.cfg.arithmetic);
        }
        h
    }

    /// The value head's output (batch, 1) for already-normalised states (batch, *shape), and the
    /// RNN's states after the last step (empty without an RNN; `seq` is then not read).
    pub fn forward(&self, states: &Tensor, seq: &SeqInput<'_>) -> (Tensor, Vec<Tensor>) {
        let x = states.flatten(1, -1);
        let (features, next) = match (&self.rnn, &self.cfg.rnn) {
            (Some((cell, norm)), Some(spec)) => {
                recurrent_trunk(spec, cell, norm.as_ref(), &|h| self.run_mlp(h), &x, seq, seq.states)
            }
            _ => (self.run_mlp(&x), Vec::new()),
        };
        (activate(self.cfg.value_activation, self.value.forward(&features), self.cfg.arithmetic), next)
    }

    /// Every trainable tensor with its name inside the `model` module (`a2c_network.actor_mlp.0.weight`,
    /// ..., `a2c_network.rnn.rnn.*`, `a2c_network.layer_norm.*`, `a2c_network.value.bias`), in the
    /// order of rl_games' `parameters()` (registration order: the MLP's Sequential is registered
    /// before the RNN): the order the gradient-clipping norm sums in.
    pub fn named_parameters(&self) -> Vec<(String, Tensor)> {
        let mut out = Vec::new();
        let linear = |out: &mut Vec<(String, Tensor)>, prefix: String, l: &Linear| {
            out.push((format!("{prefix}.weight"), l.weight.shallow_clone()));
            out.push((format!("{prefix}.bias"), l.bias.shallow_clone()));
        };
        for (i, l) in self.mlp.iter().enumerate() {
            linear(&mut out, format!("a2c_network.actor_mlp.{}", 2 * i), l);
        }
        if let Some((cell, norm)) = &self.rnn {
            cell.named("a2c_network.rnn.rnn", &mut out);
            if let Some(n) = norm {
                n.named("a2c_network.layer_norm", &mut out);
            }
        }
        linear(&mut out, "a2c_network.value".into(), &self.value);
        out
    }
}

/// rl_games' `ModelCentralValue.Network`: the value network with its normalisers.
#[derive(Debug)]
pub struct CentralValue {
    /// The network.
    pub net: ValueNet,
    /// State statistics (`central_value_config.normalize_input`).
    pub states_rms: Option<RunningMeanStd>,
    /// Value statistics (the agent's `normalize_value`), shape (1,). rl_games' agent normalises
    /// its values and returns with this one when it has a central value (§4.17).
    pub value_rms: Option<RunningMeanStd>,
}

impl CentralValue {
    /// A fresh central value model for states of `state_shape`.
    pub fn new(
        cfg: &ValueNetConfig,
        state_shape: &[i64],
        normalize_input: bool,
        normalize_value: bool,
        device: Device,
    ) -> Self {
        let size: i64 = state_shape.iter().product();
        CentralValue {
            net: ValueNet::new(cfg, size, device),
            states_rms: normalize_input.then(|| RunningMeanStd::new(state_shape, device)),
            value_rms: normalize_value.then(|| RunningMeanStd::new(&[1], device)),
        }
    }

    fn normalize_states(&self, states: &Tensor) -> Tensor {
        match &self.states_rms {
            Some(rms) => rms.normalize(states),
            None => states.shallow_clone(),
        }
    }

    /// `get_value` (eval mode): frozen statistics, de-normalised value (N, 1), no gradients; a
    /// recurrent network runs one step from `rnn_states` and returns the next states (rl_games
    /// keeps them in `CentralValueTrain.rnn_states`).
    pub fn value(&self, states: &Tensor, rnn_states: &[Tensor]) -> (Tensor, Vec<Tensor>) {
        tch::no_grad(|| {
            let seq = SeqInput { states: rnn_states, dones: None, seq_length: 1, train: false };
            let (v, next) = self.net.forward(&self.normalize_states(states), &seq);
            let v = match &self.value_rms {
                Some(rms) => rms.denormalize(&v),
                None => v,
            };
            (v, next)
        })
    }

    /// Training-mode forward: the state statistics are updated with this batch first (as the
    /// actor's, quirk 1), then the value is computed in normalised space (batch, 1); `seq` gives a
    /// recurrent network its sequences.
    pub fn forward_train(&mut self, states: &Tensor, seq: &SeqInput<'_>) -> Tensor {
        if let Some(rms) = &mut self.states_rms {
            tch::no_grad(|| rms.update(states));
        }
        self.net.forward(&self.normalize_states(states), seq).0
    }
}

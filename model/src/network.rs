//! The `actor_critic` MLP network with the `continuous_a2c_logstd` head (docs/rl_games.md §5).
//!
//! Parameters are plain tensors with rl_games' state-dict names, so checkpoints need no mapping:
//! `a2c_network.actor_mlp.{0,2,4..}` (Linear at even indices of rl_games' Sequential, activations
//! in between), `a2c_network.critic_mlp.*` (separate only), `a2c_network.value`, `a2c_network.mu`,
//! `a2c_network.sigma` (fixed) or `a2c_network.sigma.{weight,bias}`; with `network.rnn`,
//! `a2c_network.rnn.rnn.*` and `a2c_network.layer_norm.*` (separate: `a_rnn`/`c_rnn`,
//! `a_layer_norm`/`c_layer_norm`).
use crate::conv::{tower_input_shape, ConvTower};
use crate::init::init_weight;
use crate::recurrent::{recurrent_trunk, LayerNorm, Recurrent, TrunkSizes};
use crate::spec::{Activation, Arithmetic, Initializer, NetworkConfig, RnnSpec, SigmaParametrization};
use tch::{Device, Kind, Tensor};

/// Name prefixes of the parameters only the critic uses (a player does not need them).
pub const CRITIC_PREFIXES: [&str; 5] = [
    "a2c_network.critic_cnn.",
    "a2c_network.critic_mlp.",
    "a2c_network.value.",
    "a2c_network.c_rnn.",
    "a2c_network.c_layer_norm.",
];

/// What a recurrent forward pass reads besides the observations (rl_games' `rnn_states`,
/// `dones`, `seq_length` of the input dict).
#[derive(Debug)]
pub struct SeqInput<'a> {
    /// The states at the start of each sequence, (layers, batch / seq_length, units) each:
    /// (h, c) or (h,), the critic's after the actor's with `separate`.
    pub states: &'a [Tensor],
    /// Done flags (batch,) in the batch's row order; `None` runs the sequences without resets.
    pub dones: Option<&'a Tensor>,
    /// Rows per sequence: the batch is `batch / seq_length` consecutive sequences.
    pub seq_length: i64,
    /// `model.train()` (what the kernel is told; no dropout either way).
    pub train: bool,
}

impl SeqInput<'static> {
    /// What a network without an RNN is given: no states, sequences of one step.
    pub const NONE: SeqInput<'static> = SeqInput { states: &[], dones: None, seq_length: 1, train: false };
}

/// The recurrent layers of the network: one, or one per branch with `separate`.
#[derive(Debug)]
struct RnnLayers {
    spec: RnnSpec,
    actor: Recurrent,
    critic: Option<Recurrent>,
    actor_norm: Option<LayerNorm>,
    critic_norm: Option<LayerNorm>,
}

/// A fully connected layer `y = x·Wᵀ + b`.
#[derive(Debug)]
pub struct Linear {
    /// (out, in).
    pub weight: Tensor,
    /// (out,).
    pub bias: Tensor,
}

impl Linear {
    /// `nn.Linear`'s construction on the CPU generator: weight and bias drawn from U(±1/√fan_in),
    /// in that order, then the bias zeroed as rl_games does (§5.2 step 1). The draws are kept
    /// although their values are overwritten, so a seed consumes libtorch's generator exactly as
    /// rl_games' model construction does and yields the same initial weights.
    pub(crate) fn new(fan_in: i64, fan_out: i64) -> Self {
        let bound = 1.0 / (fan_in as f64).sqrt();
        let weight = Tensor::empty([fan_out, fan_in], (Kind::Float, Device::Cpu)).uniform_(-bound, bound);
        let bias = Tensor::empty([fan_out], (Kind::Float, Device::Cpu)).uniform_(-bound, bound).zero_();
        Linear { weight, bias }
    }

    /// Zero weight and bias without touching the generator (for weights that are loaded next).
    pub(crate) fn zeros(fan_in: i64, fan_out: i64) -> Self {
        let cpu = (Kind::Float, Device::Cpu);
        Linear { weight: Tensor::zeros([fan_out, fan_in], cpu), bias: Tensor::zeros([fan_out], cpu) }
    }

    pub(crate) fn to_device(&self, device: Device) -> Self {
        let leaf = |t: &Tensor| t.to_device(device).detach().set_requires_grad(true);
        Linear { weight: leaf(&self.weight), bias: leaf(&self.bias) }
    }

    pub(crate) fn forward(&self, x: &Tensor) -> Tensor {
        x.linear(&self.weight, Some(&self.bias))
    }
}

/// The σ of the policy: a state-independent parameter or a head.
#[derive(Debug)]
pub enum SigmaHead {
    /// `a2c_network.sigma`, shape (A,).
    Fixed(Tensor),
    /// `a2c_network.sigma.{weight,bias}`.
    Head(Linear),
}

/// What the actor half of one forward pass gives.
#[derive(Debug)]
pub struct ActorOutput {
    /// Mean action (batch, A).
    pub mu: Tensor,
    /// Standard deviation (batch, A).
    pub sigma: Tensor,
    /// ln σ as used in the log-likelihood (batch, A) (the raw value under `exp` without floor).
    pub log_sigma: Tensor,
}

/// What one forward pass gives.
#[derive(Debug)]
pub struct PolicyOutput {
    /// Mean action (batch, A).
    pub mu: Tensor,
    /// Standard deviation (batch, A).
    pub sigma: Tensor,
    /// ln σ as used in the log-likelihood (batch, A) (the raw value under `exp` without floor).
    pub log_sigma: Tensor,
    /// Raw value head output (batch, 1): normalised space when normalize_value.
    pub value: Tensor,
}

/// The actor-critic network.
#[derive(Debug)]
pub struct ActorCritic {
    cfg: NetworkConfig,
    actor_mlp: Vec<Linear>,
    critic_mlp: Vec<Linear>,
    value: Linear,
    mu: Linear,
    sigma: SigmaHead,
    rnn: Option<RnnLayers>,
    actor_cnn: Option<ConvTower>,
    critic_cnn: Option<ConvTower>,
}

/// Applies an activation, computed as `arithmetic` asks.
pub fn activate(act: Activation, x: Tensor, arithmetic: Arithmetic) -> Tensor {
    match act {
        Activation::Identity => x,
        Activation::Relu => x.relu(),
        Activation::Tanh => x.tanh(),
        Activation::Sigmoid => x.sigmoid(),
        Activation::Elu => match arithmetic {
            Arithmetic::RlGames => x.elu(),
            // The shim only fails where libtorch would (e.g. out of memory): then libtorch's own.
            Arithmetic::Fast => rlhost_torch_shim::fused_elu(&x).unwrap_or_else(|_| x.elu()),
        },
        Activation::Selu => x.selu(),
        Activation::Swish => x.silu(),
        Activation::Gelu => x.gelu("none"),
        Activation::Softplus => x.softplus(),
    }
}

impl ActorCritic {
    /// Builds and initialises the network for `obs_size` inputs and `actions` outputs.
    ///
    /// Construction and initialisation run on the CPU generator in rl_games' order (actor MLP,
    /// critic MLP, value, μ, σ; then the initialisers), and the parameters move to `device`
    /// afterwards, as rl_games builds its model before `.to(device)`: a seed gives rl_games'
    /// initial weights on every device.
    pub fn new(cfg: &NetworkConfig, obs_size: i64, actions: i64, device: Device) -> Self {
        Self::for_shape(cfg, &[obs_size], actions, device)
    }

    /// [`new`](Self::new) for observations of `obs_shape` (a CNN tower reads the shape; without
    /// one only the flat size matters).
    pub fn for_shape(cfg: &NetworkConfig, obs_shape: &[i64], actions: i64, device: Device) -> Self {
        let cpu = Self::build(cfg, obs_shape, actions, true);
        cpu.initialise();
        cpu.to_device(device)
    }

    /// The same layout with every parameter zero and no draw from the generator: for a network
    /// whose weights are loaded next (a player), so loading does not move the action noise.
    pub fn zeros(cfg: &NetworkConfig, obs_size: i64, actions: i64, device: Device) -> Self {
        Self::zeros_for_shape(cfg, &[obs_size], actions, device)
    }

    /// [`zeros`](Self::zeros) for observations of `obs_shape`.
    pub fn zeros_for_shape(cfg: &NetworkConfig, obs_shape: &[i64], actions: i64, device: Device) -> Self {
        Self::build(cfg, obs_shape, actions, false).to_device(device)
    }

    /// The layers in rl_games' construction order (the order of the generator draws): the
    /// RNNs (and their layer norms) before the MLPs, then value, μ, σ.
    fn build(cfg: &NetworkConfig, obs_shape: &[i64], actions: i64, draw: bool) -> Self {
        let linear: fn(i64, i64) -> Linear = if draw { Linear::new } else { Linear::zeros };
        let recurrent: fn(&RnnSpec, i64) -> Recurrent = if draw { Recurrent::new } else { Recurrent::zeros };
        // The CNN towers come first; rl_games then sizes the (possibly empty) tower by running it
        // on `torch.rand(1, *input_shape)`: that draw happens even for an MLP.
        let input_shape = match &cfg.cnn {
            Some(cnn) => tower_input_shape(cnn, obs_shape),
            None => obs_shape.to_vec(),
        };
        let actor_cnn = cfg.cnn.as_ref().map(|cnn| ConvTower::new(cnn, &input_shape, draw));
        let critic_cnn = cfg.cnn.as_ref().filter(|_| cfg.separate).map(|cnn| ConvTower::new(cnn, &input_shape, draw));
        if draw {
            let shape: Vec<i64> = std::iter::once(1).chain(input_shape.iter().copied()).collect();
            let _ = Tensor::rand(shape.as_slice(), (Kind::Float, Device::Cpu));
        }
        let obs_size = match &actor_cnn {
            Some(tower) => tower.output_size(&input_shape),
            None => input_shape.iter().product(),
        };
        // `A2CBuilder.Network.__init__`: where the RNN sits sets the MLP's and the heads' sizes.
        let sizes = TrunkSizes::new(cfg.rnn.as_ref(), obs_size, &cfg.mlp.units);
        let (mlp_in, features) = (sizes.mlp_in, sizes.features);
        let rnn = cfg.rnn.map(|spec| {
            let input = sizes.rnn_in;
            let actor = recurrent(&spec, input);
            let critic = cfg.separate.then(|| recurrent(&spec, input));
            let norm = || spec.layer_norm.then(|| LayerNorm::new(spec.units));
            let actor_norm = norm();
            let critic_norm = if cfg.separate { norm() } else { None };
            RnnLayers { spec, actor, critic, actor_norm, critic_norm }
        });
        let mlp = || {
            let mut layers = Vec::new();
            let mut fan_in = mlp_in;
            for &u in &cfg.mlp.units {
                layers.push(linear(fan_in, u));
                fan_in = u;
            }
            layers
        };
        let actor_mlp = mlp();
        let critic_mlp = if cfg.separate { mlp() } else { Vec::new() };
        let value = linear(features, 1);
        let mu = linear(features, actions);
        let sigma = if cfg.head.fixed_sigma {
            SigmaHead::Fixed(Tensor::zeros([actions], (Kind::Float, Device::Cpu)))
        } else {
            SigmaHead::Head(linear(features, actions))
        };
        ActorCritic { cfg: cfg.clone(), actor_mlp, critic_mlp, value, mu, sigma, rnn, actor_cnn, critic_cnn }
    }

    /// The same parameters as trainable leaves on `device`.
    fn to_device(&self, device: Device) -> Self {
        let move_all = |layers: &[Linear]| layers.iter().map(|l| l.to_device(device)).collect();
        ActorCritic {
            cfg: self.cfg.clone(),
            actor_mlp: move_all(&self.actor_mlp),
            critic_mlp: move_all(&self.critic_mlp),
            value: self.value.to_device(device),
            mu: self.mu.to_device(device),
            sigma: match &self.sigma {
                SigmaHead::Fixed(p) => SigmaHead::Fixed(p.to_device(device).detach().set_requires_grad(true)),
                SigmaHead::Head(head) => SigmaHead::Head(head.to_device(device)),
            },
            rnn: self.rnn.as_ref().map(|r| RnnLayers {
                spec: r.spec,
                actor: r.actor.to_device(device),
                critic: r.critic.as_ref().map(|c| c.to_device(device)),
                actor_norm: r.actor_norm.as_ref().map(|n| n.to_device(device)),
                critic_norm: r.critic_norm.as_ref().map(|n| n.to_device(device)),
            }),
            actor_cnn: self.actor_cnn.as_ref().map(|t| t.to_device(device)),
            critic_cnn: self.critic_cnn.as_ref().map(|t| t.to_device(device)),
        }
    }

    /// §5.2: every Linear weight ← mlp.initializer (biases are already 0); μ weight ← mu_init; σ ← sigma_init.
    fn initialise(&self) {
        // `self.modules()` order: the towers' convolutions come before every Linear.
        for tower in self.actor_cnn.iter().chain(&self.critic_cnn) {
            tower.initialise();
        }
        let mut linears: Vec<&Linear> = self.actor_mlp.iter().chain(&self.critic_mlp).collect();
        linears.push(&self.value);
        linears.push(&self.mu);
        if let SigmaHead::Head(head) = &self.sigma {
            linears.push(head);
        }
        for layer in linears {
            init_weight(&layer.weight, &self.cfg.mlp.initializer);
        }
        init_weight(&self.mu.weight, &self.cfg.head.mu_init);
        match (&self.sigma, &self.cfg.head.sigma_init) {
            (SigmaHead::Fixed(p), init) => {
                // A vector: const fills it; other initializers see it as a (1, A) matrix.
                let as_matrix = p.view([1, -1]);
                init_weight(&as_matrix, init);
            }
            (SigmaHead::Head(head), Initializer::Const { val }) => {
                init_weight(&head.weight, &Initializer::Const { val: 0.0 });
                init_weight(&head.bias.view([1, -1]), &Initializer::Const { val: *val });
            }
            (SigmaHead::Head(head), init) => init_weight(&head.weight, init),
        }
    }

    /// The description the network was built from.
    pub fn config(&self) -> &NetworkConfig {
        &self.cfg
    }

    fn run_mlp(&self, layers: &[Linear], x: &Tensor) -> Tensor {
        if let Some(y) = self.fused_mlp(layers, x) {
            return y;
        }
        let mut h = x.shallow_clone();
        for layer in layers {
            h = activate(self.cfg.mlp.activation, layer.forward(&h), self.cfg.arithmetic);
        }
        h
    }

    /// The fast arithmetic's ELU MLP on float32 CPU rows: every layer in one fused pass
    /// (`rlhost_torch_shim::fused_elu_mlp`); `None` where it does not apply (then op by op).
    fn fused_mlp(&self, layers: &[Linear], x: &Tensor) -> Option<Tensor> {
        let applies = self.cfg.arithmetic == Arithmetic::Fast
            && self.cfg.mlp.activation == Activation::Elu
            && !layers.is_empty()
            && x.dim() == 2
            && x.device() == Device::Cpu
            && x.kind() == Kind::Float
            && layers.iter().all(|l| l.weight.device() == Device::Cpu && l.weight.kind() == Kind::Float);
        if !applies {
            return None;
        }
        let params: Vec<&Tensor> = layers.iter().flat_map(|l| [&l.weight, &l.bias]).collect();
        // The shim only fails where libtorch would too (e.g. out of memory): then op by op.
        rlhost_torch_shim::fused_elu_mlp(&x.contiguous(), &params).ok()
    }

    /// Whether the network has a recurrent layer (and its forward needs [`SeqInput`]).
    pub fn is_rnn(&self) -> bool {
        self.rnn.is_some()
    }

    /// rl_games' `get_default_rnn_state`: zero states for `batch` sequences, (layers, batch,
    /// units) each: (h, c) or (h,), the critic's after the actor's with `separate`; empty
    /// without an RNN.
    pub fn zero_rnn_states(&self, batch: i64, device: Device) -> Vec<Tensor> {
        let Some(r) = &self.rnn else { return Vec::new() };
        let mut states = r.actor.zero_states(batch, device);
        if let Some(c) = &r.critic {
            states.extend(c.zero_states(batch, device));
        }
        states
    }

    /// One branch's trunk (`A2CBuilder.Network.forward`): the MLP alone, or with the RNN
    /// ([`recurrent_trunk`]).
    fn trunk(
        &self,
        x: &Tensor,
        mlp: &[Linear],
        rnn: Option<(&Recurrent, Option<&LayerNorm>)>,
        seq: &SeqInput<'_>,
        states: &[Tensor],
    ) -> (Tensor, Vec<Tensor>) {
        let (Some((cell, norm)), Some(spec)) = (rnn, self.cfg.rnn) else {
            return (self.run_mlp(mlp, x), Vec::new());
        };
        recurrent_trunk(&spec, cell, norm, &|h| self.run_mlp(mlp, h), x, seq, states)
    }

    /// Splits the states into the actor's and (with `separate`) the critic's.
    fn split_states<'s>(&self, states: &'s [Tensor]) -> (&'s [Tensor], &'s [Tensor]) {
        match &self.rnn {
            Some(r) if r.critic.is_some() => states.split_at(r.spec.kind.states()),
            _ => (states, &[]),
        }
    }

    /// Forward pass on already-normalised observations (batch, *obs_shape); a recurrent network
    /// starts from zero states with sequences of one step.
    pub fn forward(&self, obs: &Tensor) -> PolicyOutput {
        if self.rnn.is_some() {
            let states = self.zero_rnn_states(obs.size()[0], obs.device());
            let seq = SeqInput { states: &states, dones: None, seq_length: 1, train: false };
            return self.forward_seq(obs, &seq).0;
        }
        let empty = SeqInput { states: &[], dones: None, seq_length: 1, train: false };
        self.forward_seq(obs, &empty).0
    }

    /// Forward pass with the recurrent inputs: the outputs and the states after the last step.
    pub fn forward_seq(&self, obs: &Tensor, seq: &SeqInput<'_>) -> (PolicyOutput, Vec<Tensor>) {
        let x = self.tower(self.actor_cnn.as_ref(), obs);
        let rnn = self.rnn.as_ref();
        let (actor_states, critic_states) = self.split_states(seq.states);
        let actor_rnn = rnn.map(|r| (&r.actor, r.actor_norm.as_ref()));
        let (actor_features, mut states) = self.trunk(&x, &self.actor_mlp, actor_rnn, seq, actor_states);
        let critic_features = if self.cfg.separate {
            let critic_rnn = rnn.and_then(|r| r.critic.as_ref().map(|c| (c, r.critic_norm.as_ref())));
            let xc = self.tower(self.critic_cnn.as_ref(), obs);
            let (features, critic_next) = self.trunk(&xc, &self.critic_mlp, critic_rnn, seq, critic_states);
            states.extend(critic_next);
            features
        } else {
            actor_features.shallow_clone()
        };
        let value = activate(self.cfg.value_activation, self.value.forward(&critic_features), self.cfg.arithmetic);
        let ActorOutput { mu, sigma, log_sigma } = self.policy_head(&actor_features);
        (PolicyOutput { mu, sigma, log_sigma, value }, states)
    }

    /// The actor half of [`forward`](Self::forward) (no critic, no value): what a player needs.
    pub fn forward_actor(&self, obs: &Tensor) -> ActorOutput {
        self.policy_head(&self.run_mlp(&self.actor_mlp, &self.tower(self.actor_cnn.as_ref(), obs)))
    }

    /// A branch's input features: its CNN tower's flat output, or the flat observations.
    fn tower(&self, cnn: Option<&ConvTower>, obs: &Tensor) -> Tensor {
        match cnn {
            Some(tower) => tower.forward(obs, self.cfg.arithmetic),
            None => obs.flatten(1, -1),
        }
    }

    /// The actor half of [`forward_seq`](Self::forward_seq): the policy and the next states,
    /// where a `separate` network's critic states come back unchanged (the critic is not run).
    pub fn forward_actor_seq(&self, obs: &Tensor, seq: &SeqInput<'_>) -> (ActorOutput, Vec<Tensor>) {
        let x = self.tower(self.actor_cnn.as_ref(), obs);
        let (actor_states, critic_states) = self.split_states(seq.states);
        let actor_rnn = self.rnn.as_ref().map(|r| (&r.actor, r.actor_norm.as_ref()));
        let (features, mut states) = self.trunk(&x, &self.actor_mlp, actor_rnn, seq, actor_states);
        states.extend(critic_states.iter().map(Tensor::shallow_clone));
        (self.policy_head(&features), states)
    }

    /// μ and σ from the actor features.
    fn policy_head(&self, actor_features: &Tensor) -> ActorOutput {
        let head = &self.cfg.head;
        let mu = activate(head.mu_activation, self.mu.forward(actor_features), self.cfg.arithmetic);
        let raw_sigma = match &self.sigma {
            // rl_games: `mu * 0.0 + sigma_act(sigma)` broadcasts the vector to (batch, A).
            SigmaHead::Fixed(p) => &mu * 0.0 + activate(head.sigma_activation, p.shallow_clone(), self.cfg.arithmetic),
            SigmaHead::Head(h) => activate(head.sigma_activation, h.forward(actor_features), self.cfg.arithmetic),
        };
        let (sigma, log_sigma) = self.parametrize_sigma(raw_sigma);
        ActorOutput { mu, sigma, log_sigma }
    }

    /// raw → (σ, ln σ) (docs/rl_games.md §5.4).
    fn parametrize_sigma(&self, raw: Tensor) -> (Tensor, Tensor) {
        let head = &self.cfg.head;
        let min_sigma = head.min_sigma;
        match head.sigma_parametrization {
            SigmaParametrization::Exp => {
                let raw = match head.logstd_bounds {
                    Some((lo, hi)) => raw.clamp(lo, hi),
                    None => raw,
                };
                if min_sigma > 0.0 {
                    let sigma = raw.exp() + min_sigma;
                    let log_sigma = sigma.log();
                    (sigma, log_sigma)
                } else {
                    (raw.exp(), raw)
                }
            }
            SigmaParametrization::Softplus => {
                let sigma = raw.softplus() + min_sigma;
                let log_sigma = sigma.log();
                (sigma, log_sigma)
            }
            SigmaParametrization::Linear => {
                let floor = min_sigma.max(1e-3);
                let sigma = (raw - floor).softplus() + floor;
                let log_sigma = sigma.log();
                (sigma, log_sigma)
            }
        }
    }

    /// Every trainable tensor with its rl_games state-dict name, in the order of rl_games'
    /// `model.parameters()`: a fixed σ is a direct parameter of the network module, so it comes
    /// first; then the layers in registration order. The order is arithmetic, not cosmetic: the
    /// gradient-clipping norm sums the per-tensor norms in it.
    pub fn named_parameters(&self) -> Vec<(String, Tensor)> {
        let mut out = Vec::new();
        if let SigmaHead::Fixed(p) = &self.sigma {
            out.push(("a2c_network.sigma".into(), p.shallow_clone()));
        }
        if let Some(t) = &self.actor_cnn {
            t.named("a2c_network.actor_cnn", &mut out);
        }
        if let Some(t) = &self.critic_cnn {
            t.named("a2c_network.critic_cnn", &mut out);
        }
        let mut linear = |prefix: String, l: &Linear| {
            out.push((format!("{prefix}.weight"), l.weight.shallow_clone()));
            out.push((format!("{prefix}.bias"), l.bias.shallow_clone()));
        };
        for (i, l) in self.actor_mlp.iter().enumerate() {
            linear(format!("a2c_network.actor_mlp.{}", 2 * i), l);
        }
        for (i, l) in self.critic_mlp.iter().enumerate() {
            linear(format!("a2c_network.critic_mlp.{}", 2 * i), l);
        }
        // Registration order of `A2CBuilder.Network`: the RNNs, then their layer norms.
        if let Some(r) = &self.rnn {
            let (cell, norm) = if r.critic.is_some() { ("a_rnn", "a_layer_norm") } else { ("rnn", "layer_norm") };
            r.actor.named(&format!("a2c_network.{cell}.rnn"), &mut out);
            if let Some(c) = &r.critic {
                c.named("a2c_network.c_rnn.rnn", &mut out);
            }
            if let Some(n) = &r.actor_norm {
                n.named(&format!("a2c_network.{norm}"), &mut out);
            }
            if let Some(n) = &r.critic_norm {
                n.named("a2c_network.c_layer_norm", &mut out);
            }
        }
        let mut linear = |prefix: String, l: &Linear| {
            out.push((format!("{prefix}.weight"), l.weight.shallow_clone()));
            out.push((format!("{prefix}.bias"), l.bias.shallow_clone()));
        };
        linear("a2c_network.value".into(), &self.value);
        linear("a2c_network.mu".into(), &self.mu);
        if let SigmaHead::Head(head) = &self.sigma {
            linear("a2c_network.sigma".into(), head);
        }
        out
    }

    /// The parameters [`forward_actor`](Self::forward_actor) uses, with their names.
    pub fn actor_parameters(&self) -> Vec<(String, Tensor)> {
        let critic = |name: &str| CRITIC_PREFIXES.iter().any(|p| name.starts_with(p));
        self.named_parameters().into_iter().filter(|(name, _)| !critic(name)).collect()
    }

    /// The fixed σ parameter, if the network has one.
    pub fn fixed_sigma(&self) -> Option<&Tensor> {
        match &self.sigma {
            SigmaHead::Fixed(p) => Some(p),
            SigmaHead::Head(_) => None,
        }
    }

    /// Sets every element of the fixed raw σ to `value` (quirk 9: the raw parameter, a log-std
    /// under `exp`, is written); `false` when σ is a head.
    pub fn set_fixed_sigma(&self, value: f32) -> bool {
        let Some(p) = self.fixed_sigma() else { return false };
        let mut p = p.shallow_clone();
        tch::no_grad(|| {
            let _ = p.fill_(value as f64);
        });
        true
    }
}

/// `−ln N(x; μ, σ)` summed over action dims (docs/rl_games.md §5.3).
pub fn neglogp(x: &Tensor, mu: &Tensor, sigma: &Tensor, log_sigma: &Tensor) -> Tensor {
    let actions = *x.size().last().unwrap() as f64;
    ((x - mu) / sigma).square().sum_dim_intlist(-1, false, Kind::Float) * 0.5
        + 0.5 * (2.0 * std::f64::consts::PI).ln() * actions
        + log_sigma.sum_dim_intlist(-1, false, Kind::Float)
}

/// Entropy of the diagonal Gaussian, summed over action dims: Σ(0.5 + 0.5·ln 2π + ln σ).
pub fn entropy(sigma: &Tensor) -> Tensor {
    (sigma.log() + (0.5 + 0.5 * (2.0 * std::f64::consts::PI).ln())).sum_dim_intlist(-1, false, Kind::Float)
}

//! The `actor_critic` MLP network with the `continuous_a2c_logstd` head (spec §5).
//!
//! Parameters are plain tensors with rl_games' state-dict names, so checkpoints need no mapping:
//! `a2c_network.actor_mlp.{0,2,4..}` (Linear at even indices of rl_games' Sequential, activations
//! in between), `a2c_network.critic_mlp.*` (separate only), `a2c_network.value`, `a2c_network.mu`,
//! `a2c_network.sigma` (fixed) or `a2c_network.sigma.{weight,bias}`.
use crate::config::{Activation, FanMode, Initializer, NetworkConfig, SigmaParametrization};
use tch::{Device, Kind, Tensor};

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
    fn new(fan_in: i64, fan_out: i64) -> Self {
        let bound = 1.0 / (fan_in as f64).sqrt();
        let weight = Tensor::empty([fan_out, fan_in], (Kind::Float, Device::Cpu)).uniform_(-bound, bound);
        let bias = Tensor::empty([fan_out], (Kind::Float, Device::Cpu)).uniform_(-bound, bound).zero_();
        Linear { weight, bias }
    }

    fn to_device(&self, device: Device) -> Self {
        let leaf = |t: &Tensor| t.to_device(device).detach().set_requires_grad(true);
        Linear { weight: leaf(&self.weight), bias: leaf(&self.bias) }
    }

    fn forward(&self, x: &Tensor) -> Tensor {
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
}

/// Applies an activation.
pub fn activate(act: Activation, x: Tensor) -> Tensor {
    match act {
        Activation::Identity => x,
        Activation::Relu => x.relu(),
        Activation::Tanh => x.tanh(),
        Activation::Sigmoid => x.sigmoid(),
        Activation::Elu => x.elu(),
        Activation::Selu => x.selu(),
        Activation::Swish => x.silu(),
        Activation::Gelu => x.gelu("none"),
        Activation::Softplus => x.softplus(),
    }
}

fn fans(weight: &Tensor) -> (f64, f64) {
    let size = weight.size();
    (size[1] as f64, size[0] as f64)
}

fn fan(weight: &Tensor, mode: FanMode) -> f64 {
    let (fan_in, fan_out) = fans(weight);
    match mode {
        FanMode::FanIn => fan_in,
        FanMode::FanOut => fan_out,
        FanMode::FanAvg => (fan_in + fan_out) / 2.0,
    }
}

/// PyTorch's `calculate_gain(nonlinearity, a)`.
fn kaiming_gain(nonlinearity: &str, a: f64) -> f64 {
    match nonlinearity {
        "relu" => 2f64.sqrt(),
        "tanh" => 5.0 / 3.0,
        "selu" => 0.75,
        "leaky_relu" => (2.0 / (1.0 + a * a)).sqrt(),
        _ => 1.0, // linear, sigmoid, conv*
    }
}

/// Fills `t` with N(0, std²) truncated to the absolute range [lo, hi] (PyTorch's `trunc_normal_`).
fn trunc_normal_(t: &mut Tensor, std: f64, lo: f64, hi: f64) {
    let cdf = |x: f64| (1.0 + erf(x / std / 2f64.sqrt())) / 2.0;
    let (l, u) = (cdf(lo), cdf(hi));
    let _ = t.uniform_(2.0 * l - 1.0, 2.0 * u - 1.0);
    let _ = t.erfinv_();
    let _ = t.g_mul_scalar_(std * 2f64.sqrt());
    let _ = t.clamp_(lo, hi);
}

/// erf by Abramowitz–Stegun 7.1.26 refined with two Newton steps on erfc would be overkill: the
/// truncation bounds only need a few digits.
fn erf(x: f64) -> f64 {
    let t = 1.0 / (1.0 + 0.3275911 * x.abs());
    let y = 1.0
        - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592)
            * t
            * (-x * x).exp();
    if x >= 0.0 {
        y
    } else {
        -y
    }
}

/// Applies an initializer to a weight matrix in place (spec §5.2 table).
pub fn init_weight(weight: &Tensor, init: &Initializer) {
    tch::no_grad(|| {
        let mut w = weight.shallow_clone();
        match init {
            Initializer::Default => {}
            Initializer::Const { val } => {
                let _ = w.fill_(*val);
            }
            Initializer::GlorotNormal { gain } => {
                let (fi, fo) = fans(weight);
                let _ = w.normal_(0.0, gain * (2.0 / (fi + fo)).sqrt());
            }
            Initializer::GlorotUniform { gain } => {
                let (fi, fo) = fans(weight);
                let bound = gain * (6.0 / (fi + fo)).sqrt();
                let _ = w.uniform_(-bound, bound);
            }
            Initializer::VarianceScaling { scale, mode } => {
                // Quirk 13: truncated at absolute ±2, not ±2σ.
                let std = (scale / fan(weight, *mode)).sqrt();
                trunc_normal_(&mut w, std, -2.0, 2.0);
            }
            Initializer::RandomUniform { a, b } => {
                let _ = w.uniform_(*a, *b);
            }
            Initializer::KaimingNormal { a, mode, nonlinearity } => {
                let std = kaiming_gain(nonlinearity, *a) / fan(weight, *mode).sqrt();
                let _ = w.normal_(0.0, std);
            }
            Initializer::Orthogonal { gain } => {
                let size = weight.size();
                let (rows, cols) = (size[0], size[1]);
                let mut flat = Tensor::randn([rows, cols], (Kind::Float, Device::Cpu));
                if rows < cols {
                    flat = flat.t_();
                }
                let (q, r) = Tensor::linalg_qr(&flat, "reduced");
                let mut q = q * r.diagonal(0, 0, 1).sign();
                if rows < cols {
                    q = q.t_();
                }
                w.copy_(&(q * *gain));
            }
        }
    })
}

impl ActorCritic {
    /// Builds and initialises the network for `obs_size` inputs and `actions` outputs.
    ///
    /// Construction and initialisation run on the CPU generator in rl_games' order (actor MLP,
    /// critic MLP, value, μ, σ; then the initialisers), and the parameters move to `device`
    /// afterwards, as rl_games builds its model before `.to(device)`: a seed gives rl_games'
    /// initial weights on every device.
    pub fn new(cfg: &NetworkConfig, obs_size: i64, actions: i64, device: Device) -> Self {
        // rl_games sizes the (empty) CNN trunk by running it on `torch.rand(1, *obs_shape)`: the
        // draw comes first even for an MLP.
        let _ = Tensor::rand([1, obs_size], (Kind::Float, Device::Cpu));
        let mlp = || {
            let mut layers = Vec::new();
            let mut fan_in = obs_size;
            for &u in &cfg.units {
                layers.push(Linear::new(fan_in, u));
                fan_in = u;
            }
            layers
        };
        let actor_mlp = mlp();
        let critic_mlp = if cfg.separate { mlp() } else { Vec::new() };
        let features = cfg.units.last().copied().unwrap_or(obs_size);
        let value = Linear::new(features, 1);
        let mu = Linear::new(features, actions);
        let sigma = if cfg.fixed_sigma {
            SigmaHead::Fixed(Tensor::zeros([actions], (Kind::Float, Device::Cpu)))
        } else {
            SigmaHead::Head(Linear::new(features, actions))
        };
        let cpu = ActorCritic { cfg: cfg.clone(), actor_mlp, critic_mlp, value, mu, sigma };
        cpu.initialise();
        cpu.to_device(device)
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
        }
    }

    /// §5.2: every Linear weight ← mlp.initializer (biases are already 0); μ weight ← mu_init; σ ← sigma_init.
    fn initialise(&self) {
        let mut linears: Vec<&Linear> = self.actor_mlp.iter().chain(&self.critic_mlp).collect();
        linears.push(&self.value);
        linears.push(&self.mu);
        if let SigmaHead::Head(head) = &self.sigma {
            linears.push(head);
        }
        for layer in linears {
            init_weight(&layer.weight, &self.cfg.initializer);
        }
        init_weight(&self.mu.weight, &self.cfg.mu_init);
        match (&self.sigma, &self.cfg.sigma_init) {
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

    fn run_mlp(&self, layers: &[Linear], x: &Tensor) -> Tensor {
        let mut h = x.shallow_clone();
        for layer in layers {
            h = activate(self.cfg.activation, layer.forward(&h));
        }
        h
    }

    /// Forward pass on already-normalised observations (batch, *obs_shape).
    pub fn forward(&self, obs: &Tensor) -> PolicyOutput {
        let x = obs.flatten(1, -1);
        let actor_features = self.run_mlp(&self.actor_mlp, &x);
        let critic_features =
            if self.cfg.separate { self.run_mlp(&self.critic_mlp, &x) } else { actor_features.shallow_clone() };
        let value = activate(self.cfg.value_activation, self.value.forward(&critic_features));
        let mu = activate(self.cfg.mu_activation, self.mu.forward(&actor_features));
        let raw_sigma = match &self.sigma {
            // rl_games: `mu * 0.0 + sigma_act(sigma)` broadcasts the vector to (batch, A).
            SigmaHead::Fixed(p) => &mu * 0.0 + activate(self.cfg.sigma_activation, p.shallow_clone()),
            SigmaHead::Head(head) => activate(self.cfg.sigma_activation, head.forward(&actor_features)),
        };
        let (sigma, log_sigma) = self.parametrize_sigma(raw_sigma);
        PolicyOutput { mu, sigma, log_sigma, value }
    }

    /// raw → (σ, ln σ) (spec §5.4).
    fn parametrize_sigma(&self, raw: Tensor) -> (Tensor, Tensor) {
        let min_sigma = self.cfg.min_sigma;
        match self.cfg.sigma_parametrization {
            SigmaParametrization::Exp => {
                let raw = match self.cfg.logstd_bounds {
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
        linear("a2c_network.value".into(), &self.value);
        linear("a2c_network.mu".into(), &self.mu);
        if let SigmaHead::Head(head) = &self.sigma {
            linear("a2c_network.sigma".into(), head);
        }
        out
    }

    /// The fixed σ parameter, if the network has one.
    pub fn fixed_sigma(&self) -> Option<&Tensor> {
        match &self.sigma {
            SigmaHead::Fixed(p) => Some(p),
            SigmaHead::Head(_) => None,
        }
    }
}

/// `−ln N(x; μ, σ)` summed over action dims (spec §5.3).
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

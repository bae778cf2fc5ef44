//! ONNX export of the `actor_critic` policy: the player's deterministic `act`, as one graph.
//!
//! ```text
//! obs [batch, D…] float32, or uint8 for image observations (`observation_dtype`)
//!  → float(obs) / 255                                    (uint8: the player's preprocessing)
//!  → clamp(±env.clip_observations)                       (float32: the host wrapper's, when configured)
//!  → clamp((obs − mean) / sqrt(var + 1e-5), −5, 5)       (RunningMeanStd, normalize_input)
//!  → CNN tower (Transpose for permute_input, Conv + activation, Flatten) or flatten
//!  → trunk: actor MLP, or MLP and one RNN step in rl_games' order (before_mlp, concat_input,
//!    LSTM/GRU per layer, LayerNormalization, concat_output)
//!  → μ head (mu_activation)                              = output `mu`
//!  → clamp(μ, −1, 1)·(high − low)/2 + (high + low)/2     (ActionMap, clip_actions)
//!  → clamp(±env.clip_actions)                            (the host wrapper's, when configured)
//!  = output `actions` [batch, A]
//! optional: `sigma` (the σ head or fixed σ, parametrised), `value` (critic, de-normalised)
//! recurrent: inputs `h_in` (+ `c_in` for an LSTM) after `obs`, outputs `h_out` (+ `c_out`)
//!   after the others, [layers, batch, units] float32; with `separate` and `value` also
//!   `critic_h_in`/`critic_c_in` → `critic_h_out`/`critic_c_out`
//! ```
//!
//! The operations and their order are the tch path's ([`crate::policy::Model::actions`],
//! [`crate::policy::Model::actions_seq`], [`crate::normalizer::RunningMeanStd::normalize`],
//! [`crate::policy::ActionMap::apply`]), and the constants are the very float32 values the player
//! computes with (statistics cast to float32, `(high − low)/2` and `(high + low)/2` as the player
//! holds them); only the summation order inside the matrix products and cells can differ between
//! runtimes.
//!
//! A recurrent graph is one step (the player's `act` step, `seq_length` 1): the caller feeds zero
//! states first, then each step's `*_out` to the next `*_in`, and zeroes an env's row (axis 1)
//! when its episode ends, as the player's game loop does on `done`. Each layer is an ONNX `LSTM`
//! or `GRU` node with torch's gate blocks reordered (LSTM i,f,g,o → i,o,f,c; GRU r,z,n → z,r,h,
//! `linear_before_reset = 1`).
//!
//! The graph is opset [`OPSET`] with a symbolic batch axis [`BATCH`]; [`check_exportable`]
//! refuses in one line a network the builder does not know.
pub mod proto;

use crate::network::CRITIC_PREFIXES;
use crate::normalizer::{CLIP, EPSILON};
use crate::spec::{Activation, ConvKind, NetworkConfig, RnnKind, RnnSpec, SigmaParametrization};
use proto::*;
use rlhost_sdk::{ErrorKind, PluginError};
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The opset the graph is written for.
pub const OPSET: i64 = 17;
/// The ONNX IR version that goes with [`OPSET`].
pub const IR_VERSION: i64 = 8;
/// The name of the symbolic batch dimension.
pub const BATCH: &str = "batch";
/// Names of the graph's inputs and outputs.
pub mod names {
    /// Observations [batch, D…], float32.
    pub const OBS: &str = "obs";
    /// Environment actions [batch, A].
    pub const ACTIONS: &str = "actions";
    /// μ [batch, A] (before clipping and rescaling).
    pub const MU: &str = "mu";
    /// σ [batch, A].
    pub const SIGMA: &str = "sigma";
    /// Value in environment units [batch, 1].
    pub const VALUE: &str = "value";
    /// An RNN's hidden state before the step [layers, batch, units].
    pub const H_IN: &str = "h_in";
    /// An LSTM's cell state before the step [layers, batch, units].
    pub const C_IN: &str = "c_in";
    /// The hidden state after the step.
    pub const H_OUT: &str = "h_out";
    /// The cell state after the step.
    pub const C_OUT: &str = "c_out";
    /// The prefix of a `separate` network's critic states (`critic_h_in`, …), with `value`.
    pub const CRITIC_PREFIX: &str = "critic_";
}

/// The optional outputs beside `actions`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Outputs {
    /// μ before clipping and rescaling.
    pub mu: bool,
    /// σ.
    pub sigma: bool,
    /// The critic's value, de-normalised.
    pub value: bool,
}

impl Outputs {
    /// Parses output names (`mu`, `sigma`, `value`); an unknown name is an error naming it.
    pub fn parse<'a>(items: impl IntoIterator<Item = &'a str>) -> Result<Self, PluginError> {
        let mut out = Outputs::default();
        for item in items {
            match item {
                names::MU => out.mu = true,
                names::SIGMA => out.sigma = true,
                names::VALUE => out.value = true,
                names::ACTIONS => {}
                other => {
                    return Err(PluginError::new(
                        ErrorKind::Config,
                        format!("export: unknown output '{other}' (expected mu, sigma or value)"),
                    ))
                }
            }
        }
        Ok(out)
    }

    /// The output names in graph order.
    pub fn names(&self) -> Vec<&'static str> {
        let mut v = vec![names::ACTIONS];
        for (on, name) in [(self.mu, names::MU), (self.sigma, names::SIGMA), (self.value, names::VALUE)] {
            if on {
                v.push(name);
            }
        }
        v
    }
}

/// A dense float32 tensor.
#[derive(Debug, Clone, PartialEq)]
pub struct DenseF32 {
    /// Shape.
    pub dims: Vec<i64>,
    /// Row-major elements.
    pub data: Vec<f32>,
}

impl DenseF32 {
    /// The elements of a tch tensor (any device), cast to float32.
    pub fn of(t: &tch::Tensor) -> Result<Self, PluginError> {
        let cpu = t.to_device(tch::Device::Cpu).to_kind(tch::Kind::Float).contiguous();
        let data = Vec::<f32>::try_from(cpu.view([-1]))
            .map_err(|e| PluginError::new(ErrorKind::Other, format!("export: cannot read a tensor: {e}")))?;
        Ok(DenseF32 { dims: t.size(), data })
    }
}

/// Everything the graph is made of, as plain numbers.
#[derive(Debug, Clone)]
pub struct PolicyGraph {
    /// The network description (the checkpoint's `network`).
    pub network: NetworkConfig,
    /// One observation's shape.
    pub obs_shape: Vec<i64>,
    /// Observations are uint8 images (the graph input is uint8 and is scaled by 1/255).
    pub obs_uint8: bool,
    /// Action dimensions A.
    pub action_dim: i64,
    /// Parameters by rl_games state-dict name: the actor's, and the critic's when `outputs.value`.
    pub params: BTreeMap<String, DenseF32>,
    /// Observation statistics (mean, var) cast to float32, with `normalize_input`.
    pub obs_norm: Option<(DenseF32, DenseF32)>,
    /// Value statistics (mean, var) cast to float32, with `normalize_value`.
    pub value_norm: Option<(DenseF32, DenseF32)>,
    /// `((high − low)/2, (high + low)/2)` when actions are clipped and rescaled.
    pub rescale: Option<(Vec<f32>, Vec<f32>)>,
    /// The host wrapper's observation clamp (`params.env.clip_observations`).
    pub clip_observations: Option<f32>,
    /// The host wrapper's action clamp (`params.env.clip_actions`).
    pub clip_actions: Option<f32>,
    /// Optional outputs.
    pub outputs: Outputs,
}

/// Refuses a `network` the exporter cannot write, in one line naming it.
///
/// Every layer the trainer builds (MLP, `rnn`, `cnn`) is exported; the checkpoint reader refuses
/// the others. The exporter checks the network's name again so that a network type added to the
/// trainer before the exporter learns it cannot slip through.
pub fn check_exportable(network: &Value) -> Result<(), PluginError> {
    match network.get("name").and_then(Value::as_str) {
        Some("actor_critic") | None => Ok(()),
        Some(other) => Err(PluginError::new(
            ErrorKind::Unsupported,
            format!("export: network '{other}' is not supported by the ONNX exporter (only actor_critic)"),
        )),
    }
}

/// Graph under construction: nodes in order, initializers, unique value names.
#[derive(Default)]
struct Builder {
    nodes: Vec<NodeProto>,
    initializers: Vec<TensorProto>,
    counter: usize,
}

fn attr_f(name: &str, f: f32) -> AttributeProto {
    AttributeProto { name: name.into(), r#type: attribute_type::FLOAT, f, ..Default::default() }
}

fn attr_i(name: &str, i: i64) -> AttributeProto {
    AttributeProto { name: name.into(), r#type: attribute_type::INT, i, ..Default::default() }
}

fn attr_ints(name: &str, ints: Vec<i64>) -> AttributeProto {
    AttributeProto { name: name.into(), r#type: attribute_type::INTS, ints, ..Default::default() }
}

impl Builder {
    fn constant(&mut self, name: &str, dims: &[i64], data: &[f32]) -> String {
        let raw_data = data.iter().flat_map(|x| x.to_le_bytes()).collect();
        self.initializers.push(TensorProto {
            dims: dims.to_vec(),
            data_type: DATA_TYPE_FLOAT,
            name: name.into(),
            raw_data,
            ..Default::default()
        });
        name.into()
    }

    /// A 1-d int64 constant (the axes, starts and ends of Unsqueeze, Squeeze, Slice).
    fn ints(&mut self, hint: &str, data: &[i64]) -> String {
        self.counter += 1;
        let name = format!("{hint}_{}", self.counter);
        self.initializers.push(TensorProto {
            dims: vec![data.len() as i64],
            data_type: DATA_TYPE_INT64,
            name: name.clone(),
            raw_data: data.iter().flat_map(|x| x.to_le_bytes()).collect(),
            ..Default::default()
        });
        name
    }

    fn scalar(&mut self, hint: &str, value: f32) -> String {
        self.counter += 1;
        let name = format!("{hint}_{}", self.counter);
        self.constant(&name, &[], &[value])
    }

    fn op_to(&mut self, op: &str, inputs: &[&str], attribute: Vec<AttributeProto>, output: &str) -> String {
        self.counter += 1;
        self.nodes.push(NodeProto {
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: vec![output.into()],
            name: format!("{op}_{}", self.counter),
            op_type: op.into(),
            attribute,
            domain: String::new(),
        });
        output.into()
    }

    /// A node with several outputs (an empty name leaves an optional output out).
    fn op_outputs(&mut self, op: &str, inputs: &[&str], attribute: Vec<AttributeProto>, outputs: &[&str]) {
        self.counter += 1;
        self.nodes.push(NodeProto {
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: outputs.iter().map(|s| s.to_string()).collect(),
            name: format!("{op}_{}", self.counter),
            op_type: op.into(),
            attribute,
            domain: String::new(),
        });
    }

    /// A fresh value name.
    fn fresh(&mut self, hint: &str) -> String {
        self.counter += 1;
        format!("{hint}_{}", self.counter)
    }

    fn unsqueeze0(&mut self, x: &str) -> String {
        let axes = self.ints("axes", &[0]);
        self.op("Unsqueeze", &[x, &axes], vec![])
    }

    fn squeeze0(&mut self, x: &str) -> String {
        let axes = self.ints("axes", &[0]);
        self.op("Squeeze", &[x, &axes], vec![])
    }

    fn concat(&mut self, parts: &[&str], axis: i64) -> String {
        self.op("Concat", parts, vec![attr_i("axis", axis)])
    }

    fn op(&mut self, op: &str, inputs: &[&str], attribute: Vec<AttributeProto>) -> String {
        let output = format!("{}_{}", op.to_lowercase(), self.counter + 1);
        self.op_to(op, inputs, attribute, &output)
    }

    fn clip(&mut self, x: &str, lo: f32, hi: f32) -> String {
        let lo = self.scalar("clip_min", lo);
        let hi = self.scalar("clip_max", hi);
        self.op("Clip", &[x, &lo, &hi], vec![])
    }

    fn add_scalar(&mut self, x: &str, c: f32) -> String {
        let c = self.scalar("c", c);
        self.op("Add", &[x, &c], vec![])
    }

    /// torch's `softplus` (β = 1, threshold 20): x where x > 20, else ln(1 + eˣ).
    fn softplus(&mut self, x: &str) -> String {
        let threshold = self.scalar("softplus_threshold", 20.0);
        let above = self.op("Greater", &[x, &threshold], vec![]);
        let soft = self.op("Softplus", &[x], vec![]);
        self.op("Where", &[&above, x, &soft], vec![])
    }

    /// [`crate::network::activate`].
    fn activate(&mut self, act: Activation, x: String) -> String {
        match act {
            Activation::Identity => x,
            Activation::Relu => self.op("Relu", &[&x], vec![]),
            Activation::Tanh => self.op("Tanh", &[&x], vec![]),
            Activation::Sigmoid => self.op("Sigmoid", &[&x], vec![]),
            Activation::Elu => self.op("Elu", &[&x], vec![attr_f("alpha", 1.0)]),
            // torch's constants (`torch.nn.SELU`), as float32.
            Activation::Selu => {
                self.op("Selu", &[&x], vec![attr_f("alpha", 1.673_263_2_f32), attr_f("gamma", 1.050_701_f32)])
            }
            Activation::Swish => {
                let s = self.op("Sigmoid", &[&x], vec![]);
                self.op("Mul", &[&x, &s], vec![])
            }
            // The exact form torch uses for `gelu(approximate='none')`: x·½·(1 + erf(x/√2)).
            Activation::Gelu => {
                let r = self.scalar("sqrt1_2", std::f32::consts::FRAC_1_SQRT_2);
                let scaled = self.op("Mul", &[&x, &r], vec![]);
                let erf = self.op("Erf", &[&scaled], vec![]);
                let one_plus = self.add_scalar(&erf, 1.0);
                let half = self.scalar("half", 0.5);
                let xh = self.op("Mul", &[&x, &half], vec![]);
                self.op("Mul", &[&xh, &one_plus], vec![])
            }
            Activation::Softplus => self.softplus(&x),
        }
    }
}

fn float_input(name: &str, batch: bool, dims: &[i64]) -> ValueInfoProto {
    let mut all = Vec::new();
    if batch {
        all.push(None);
    }
    all.extend(dims.iter().map(|&d| Some(d)));
    value_info(name, DATA_TYPE_FLOAT, &all)
}

/// A tensor's name, element type and shape, `None` marking the symbolic [`BATCH`] axis.
fn value_info(name: &str, elem_type: i32, dims: &[Option<i64>]) -> ValueInfoProto {
    let dim = dims
        .iter()
        .map(|d| match d {
            Some(d) => Dimension { dim_value: Some(*d), dim_param: None },
            None => Dimension { dim_value: None, dim_param: Some(BATCH.into()) },
        })
        .collect();
    ValueInfoProto {
        name: name.into(),
        r#type: Some(TypeProto {
            tensor_type: Some(TypeProtoTensor { elem_type, shape: Some(TensorShapeProto { dim }) }),
        }),
        doc_string: String::new(),
    }
}

/// One branch of the network (the actor, or a `separate` critic): its parameter prefixes and
/// the prefix of its state names.
struct Branch {
    cnn: &'static str,
    mlp: &'static str,
    rnn: &'static str,
    layer_norm: &'static str,
    states: &'static str,
}

impl Branch {
    fn actor(separate: bool) -> Self {
        let (rnn, layer_norm) = if separate {
            ("a2c_network.a_rnn.rnn", "a2c_network.a_layer_norm")
        } else {
            ("a2c_network.rnn.rnn", "a2c_network.layer_norm")
        };
        Branch { cnn: "a2c_network.actor_cnn", mlp: "a2c_network.actor_mlp", rnn, layer_norm, states: "" }
    }

    fn critic() -> Self {
        Branch {
            cnn: "a2c_network.critic_cnn",
            mlp: "a2c_network.critic_mlp",
            rnn: "a2c_network.c_rnn.rnn",
            layer_norm: "a2c_network.c_layer_norm",
            states: names::CRITIC_PREFIX,
        }
    }
}

/// The recurrent state names of one branch: (input, output) per state tensor, h then c.
pub fn state_names(kind: RnnKind, prefix: &str) -> Vec<(String, String)> {
    let pairs = [(names::H_IN, names::H_OUT), (names::C_IN, names::C_OUT)];
    pairs[..kind.states()].iter().map(|(i, o)| (format!("{prefix}{i}"), format!("{prefix}{o}"))).collect()
}

/// Reorders the gate blocks of a `torch.nn.LSTM`/`GRU` parameter (rows `gates × units`) into
/// ONNX's order: torch's LSTM i, f, g, o → ONNX i, o, f, c; torch's GRU r, z, n → ONNX z, r, h.
fn onnx_gate_order(kind: RnnKind, p: &DenseF32) -> Vec<f32> {
    let order: &[usize] = match kind {
        RnnKind::Lstm => &[0, 3, 1, 2],
        RnnKind::Gru => &[1, 0, 2],
    };
    let block = p.data.len() / order.len();
    order.iter().flat_map(|&g| p.data[g * block..(g + 1) * block].iter().copied()).collect()
}

impl PolicyGraph {
    fn param(&self, name: &str) -> Result<&DenseF32, PluginError> {
        self.params.get(name).ok_or_else(|| {
            PluginError::new(ErrorKind::Checkpoint, format!("export: the policy has no parameter '{name}'"))
        })
    }

    /// `x·Wᵀ + b` (Gemm, transB) with the parameters `<prefix>.weight`, `<prefix>.bias`.
    fn linear(&self, b: &mut Builder, prefix: &str, x: &str) -> Result<String, PluginError> {
        let w = self.param(&format!("{prefix}.weight"))?;
        let bias = self.param(&format!("{prefix}.bias"))?;
        let w = b.constant(&format!("{prefix}.weight"), &w.dims, &w.data);
        let bias = b.constant(&format!("{prefix}.bias"), &bias.dims, &bias.data);
        Ok(b.op("Gemm", &[x, &w, &bias], vec![attr_i("transB", 1)]))
    }

    fn mlp(&self, b: &mut Builder, prefix: &str, x: &str) -> Result<String, PluginError> {
        let mut h = x.to_string();
        for i in 0..self.network.mlp.units.len() {
            let z = self.linear(b, &format!("{prefix}.{}", 2 * i), &h)?;
            h = b.activate(self.network.mlp.activation, z);
        }
        Ok(h)
    }

    /// [`crate::conv::ConvTower::forward`] (Transpose for `permute_input`, Conv + activation per
    /// layer, Flatten), or the flat observations without a tower.
    fn tower(&self, b: &mut Builder, prefix: &str, x: &str) -> Result<String, PluginError> {
        let Some(cnn) = &self.network.cnn else {
            return Ok(if self.obs_shape.len() != 1 {
                b.op("Flatten", &[x], vec![attr_i("axis", 1)])
            } else {
                x.into()
            });
        };
        let mut h = x.to_string();
        if cnn.permute_input && self.obs_shape.len() == 3 {
            h = b.op("Transpose", &[&h], vec![attr_ints("perm", vec![0, 3, 1, 2])]);
        }
        let dims = match cnn.kind {
            ConvKind::Conv2d => 2,
            ConvKind::Conv1d => 1,
        };
        for (i, c) in cnn.convs.iter().enumerate() {
            let name = format!("{prefix}.{}", 2 * i);
            let w = self.param(&format!("{name}.weight"))?;
            let bias = self.param(&format!("{name}.bias"))?;
            let w = b.constant(&format!("{name}.weight"), &w.dims, &w.data);
            let bias = b.constant(&format!("{name}.bias"), &bias.dims, &bias.data);
            let attrs = vec![
                attr_ints("kernel_shape", vec![c.kernel_size; dims]),
                attr_ints("strides", vec![c.strides; dims]),
                attr_ints("pads", vec![c.padding; 2 * dims]),
                attr_ints("dilations", vec![1; dims]),
            ];
            let z = b.op("Conv", &[&h, &w, &bias], attrs);
            h = b.activate(cnn.activation, z);
        }
        Ok(b.op("Flatten", &[&h], vec![attr_i("axis", 1)]))
    }

    /// One step of the stacked cells ([`crate::recurrent::Recurrent`], `seq_length` 1): an ONNX
    /// `LSTM`/`GRU` node per layer on `x` [batch, F], each from its layer of the state inputs;
    /// the states after the step are written to the branch's outputs. Returns [batch, units].
    fn recurrent(&self, b: &mut Builder, spec: &RnnSpec, branch: &Branch, x: &str) -> Result<String, PluginError> {
        let states = state_names(spec.kind, branch.states);
        let units = spec.units;
        let mut input = b.unsqueeze0(x); // [seq 1, batch, F]
        let mut next: Vec<Vec<String>> = vec![Vec::new(); states.len()];
        for k in 0..spec.layers {
            let p = |what: &str| self.param(&format!("{}.{what}_l{k}", branch.rnn));
            let (w_ih, w_hh, b_ih, b_hh) = (p("weight_ih")?, p("weight_hh")?, p("bias_ih")?, p("bias_hh")?);
            let rows = w_ih.dims[0];
            let w = b.constant(
                &format!("{}.W_l{k}", branch.rnn),
                &[1, rows, w_ih.dims[1]],
                &onnx_gate_order(spec.kind, w_ih),
            );
            let r = b.constant(&format!("{}.R_l{k}", branch.rnn), &[1, rows, units], &onnx_gate_order(spec.kind, w_hh));
            let mut bias = onnx_gate_order(spec.kind, b_ih);
            bias.extend(onnx_gate_order(spec.kind, b_hh));
            let bias = b.constant(&format!("{}.B_l{k}", branch.rnn), &[1, 2 * rows], &bias);
            let (starts, ends, axes) = (b.ints("starts", &[k]), b.ints("ends", &[k + 1]), b.ints("axes", &[0]));
            let initial: Vec<String> =
                states.iter().map(|(name, _)| b.op("Slice", &[name, &starts, &ends, &axes], vec![])).collect();
            let outs: Vec<String> = states.iter().map(|_| b.fresh("rnn_state")).collect();
            let mut inputs: Vec<&str> = vec![&input, &w, &r, &bias, ""];
            inputs.extend(initial.iter().map(String::as_str));
            let mut outputs: Vec<&str> = vec![""];
            outputs.extend(outs.iter().map(String::as_str));
            let mut attrs = vec![attr_i("hidden_size", units)];
            let op = match spec.kind {
                RnnKind::Lstm => "LSTM",
                RnnKind::Gru => {
                    // torch applies the reset gate after the recurrent product (`r ⊙ (W_hn h + b_hn)`).
                    attrs.push(attr_i("linear_before_reset", 1));
                    "GRU"
                }
            };
            b.op_outputs(op, &inputs, attrs, &outputs);
            input = outs[0].clone(); // Y_h [1, batch, units]: the next layer's one-step input.
            for (i, o) in outs.into_iter().enumerate() {
                next[i].push(o);
            }
        }
        for ((_, out), layers) in states.iter().zip(&next) {
            let parts: Vec<&str> = layers.iter().map(String::as_str).collect();
            b.op_to("Concat", &parts, vec![attr_i("axis", 0)], out);
        }
        Ok(b.squeeze0(&input))
    }

    /// `torch.nn.LayerNorm(units)` (ε = 1e-5) as ONNX `LayerNormalization` on the last axis.
    fn layer_norm(&self, b: &mut Builder, prefix: &str, x: &str) -> Result<String, PluginError> {
        let w = self.param(&format!("{prefix}.weight"))?;
        let bias = self.param(&format!("{prefix}.bias"))?;
        let w = b.constant(&format!("{prefix}.weight"), &w.dims, &w.data);
        let bias = b.constant(&format!("{prefix}.bias"), &bias.dims, &bias.data);
        Ok(b.op("LayerNormalization", &[x, &w, &bias], vec![attr_i("axis", -1), attr_f("epsilon", 1e-5)]))
    }

    /// One branch's features ([`crate::network::ActorCritic`]'s tower and `trunk`): the MLP, or
    /// the MLP and the RNN in the configured order with the layer norm and concatenations.
    fn features(&self, b: &mut Builder, branch: &Branch, obs: &str) -> Result<String, PluginError> {
        let x = self.tower(b, branch.cnn, obs)?;
        let Some(spec) = &self.network.rnn else { return self.mlp(b, branch.mlp, &x) };
        let input = if spec.before_mlp {
            x.clone()
        } else {
            let h = self.mlp(b, branch.mlp, &x)?;
            if spec.concat_input {
                b.concat(&[&h, &x], 1)
            } else {
                h
            }
        };
        let mut out = self.recurrent(b, spec, branch, &input)?;
        if spec.layer_norm {
            out = self.layer_norm(b, branch.layer_norm, &out)?;
        }
        if spec.concat_output {
            out = b.concat(&[&out, &x], 1);
        }
        if spec.before_mlp {
            out = self.mlp(b, branch.mlp, &out)?;
        }
        Ok(out)
    }

    /// The recurrent state (input, output) names in graph order: the actor's (`h_in`, `c_in`),
    /// then a `separate` critic's (`critic_h_in`, …) when the graph computes `value`.
    pub fn state_names(&self) -> Vec<(String, String)> {
        let Some(spec) = &self.network.rnn else { return Vec::new() };
        let mut names = state_names(spec.kind, "");
        if self.outputs.value && self.network.separate {
            names.extend(state_names(spec.kind, names::CRITIC_PREFIX));
        }
        names
    }

    /// The state inputs or outputs of the graph, [layers, batch, units] each.
    fn state_infos(&self, outputs: bool) -> Vec<ValueInfoProto> {
        let Some(spec) = &self.network.rnn else { return Vec::new() };
        let dims = [Some(spec.layers), None, Some(spec.units)];
        self.state_names()
            .into_iter()
            .map(|(i, o)| value_info(if outputs { &o } else { &i }, DATA_TYPE_FLOAT, &dims))
            .collect()
    }

    /// [`crate::network::ActorCritic`]'s σ parametrisation (docs/rl_games.md §5.4).
    fn parametrize_sigma(&self, b: &mut Builder, raw: String) -> String {
        let head = &self.network.head;
        match head.sigma_parametrization {
            SigmaParametrization::Exp => {
                let raw = match head.logstd_bounds {
                    Some((lo, hi)) => b.clip(&raw, lo as f32, hi as f32),
                    None => raw,
                };
                let sigma = b.op("Exp", &[&raw], vec![]);
                if head.min_sigma > 0.0 {
                    b.add_scalar(&sigma, head.min_sigma as f32)
                } else {
                    sigma
                }
            }
            SigmaParametrization::Softplus => {
                let s = b.softplus(&raw);
                b.add_scalar(&s, head.min_sigma as f32)
            }
            SigmaParametrization::Linear => {
                let floor = head.min_sigma.max(1e-3) as f32;
                let f = b.scalar("sigma_floor", floor);
                let shifted = b.op("Sub", &[&raw, &f], vec![]);
                let s = b.softplus(&shifted);
                b.op("Add", &[&s, &f], vec![])
            }
        }
    }

    /// The ONNX model; `metadata` becomes `metadata_props`, `producer_version` the rlhost version.
    pub fn build(&self, producer_version: &str, metadata: &[(String, String)]) -> Result<ModelProto, PluginError> {
        let mut b = Builder::default();
        let mut x = names::OBS.to_string();
        if self.obs_uint8 {
            // The player's `_preproc_obs`: `obs.float() / 255`; the host's clamp skips byte groups.
            let cast = b.op("Cast", &[&x], vec![attr_i("to", DATA_TYPE_FLOAT as i64)]);
            let scale = b.scalar("uint8_scale", 255.0);
            x = b.op("Div", &[&cast, &scale], vec![]);
        } else if let Some(c) = self.clip_observations {
            x = b.clip(&x, -c, c);
        }
        if let Some((mean, var)) = &self.obs_norm {
            let mean = b.constant("running_mean_std.running_mean", &mean.dims, &mean.data);
            let var = b.constant("running_mean_std.running_var", &var.dims, &var.data);
            let eps = b.scalar("running_mean_std.epsilon", EPSILON as f32);
            let var_eps = b.op("Add", &[&var, &eps], vec![]);
            let std = b.op("Sqrt", &[&var_eps], vec![]);
            let centred = b.op("Sub", &[&x, &mean], vec![]);
            let scaled = b.op("Div", &[&centred, &std], vec![]);
            x = b.clip(&scaled, -CLIP as f32, CLIP as f32);
        }
        let features = self.features(&mut b, &Branch::actor(self.network.separate), &x)?;
        let head = &self.network.head;
        let mu_linear = self.linear(&mut b, "a2c_network.mu", &features)?;
        let mu = b.activate(head.mu_activation, mu_linear);

        let mut actions = mu.clone();
        if let Some((half_range, mid)) = &self.rescale {
            let a = self.action_dim;
            let half_range = b.constant("action_half_range", &[a], half_range);
            let mid = b.constant("action_mid", &[a], mid);
            let clipped = b.clip(&actions, -1.0, 1.0);
            let scaled = b.op("Mul", &[&clipped, &half_range], vec![]);
            actions = b.op("Add", &[&scaled, &mid], vec![]);
        }
        if let Some(c) = self.clip_actions {
            actions = b.clip(&actions, -c, c);
        }
        b.op_to("Identity", &[&actions], vec![], names::ACTIONS);
        if self.outputs.mu {
            b.op_to("Identity", &[&mu], vec![], names::MU);
        }
        if self.outputs.sigma {
            let raw = if head.fixed_sigma {
                // rl_games: `mu * 0.0 + sigma_act(sigma)` broadcasts the vector to (batch, A).
                let p = self.param("a2c_network.sigma")?;
                let p = b.constant("a2c_network.sigma", &p.dims, &p.data);
                let zero = b.scalar("zero", 0.0);
                let mu0 = b.op("Mul", &[&mu, &zero], vec![]);
                let act = b.activate(head.sigma_activation, p);
                b.op("Add", &[&mu0, &act], vec![])
            } else {
                let z = self.linear(&mut b, "a2c_network.sigma", &features)?;
                b.activate(head.sigma_activation, z)
            };
            let sigma = self.parametrize_sigma(&mut b, raw);
            b.op_to("Identity", &[&sigma], vec![], names::SIGMA);
        }
        if self.outputs.value {
            let critic =
                if self.network.separate { self.features(&mut b, &Branch::critic(), &x)? } else { features.clone() };
            let v = self.linear(&mut b, "a2c_network.value", &critic)?;
            let mut v = b.activate(self.network.value_activation, v);
            if let Some((mean, var)) = &self.value_norm {
                let mean = b.constant("value_mean_std.running_mean", &mean.dims, &mean.data);
                let var = b.constant("value_mean_std.running_var", &var.dims, &var.data);
                let eps = b.scalar("value_mean_std.epsilon", EPSILON as f32);
                let var_eps = b.op("Add", &[&var, &eps], vec![]);
                let std = b.op("Sqrt", &[&var_eps], vec![]);
                let clipped = b.clip(&v, -CLIP as f32, CLIP as f32);
                let scaled = b.op("Mul", &[&std, &clipped], vec![]);
                v = b.op("Add", &[&scaled, &mean], vec![]);
            }
            b.op_to("Identity", &[&v], vec![], names::VALUE);
        }

        let (action_dims, value_dims) = ([self.action_dim], [1]);
        let mut output: Vec<ValueInfoProto> = self
            .outputs
            .names()
            .into_iter()
            .map(|name| float_input(name, true, if name == names::VALUE { &value_dims } else { &action_dims }))
            .collect();
        output.extend(self.state_infos(true));
        let obs_type = if self.obs_uint8 { DATA_TYPE_UINT8 } else { DATA_TYPE_FLOAT };
        let obs_dims: Vec<Option<i64>> = std::iter::once(None).chain(self.obs_shape.iter().map(|&d| Some(d))).collect();
        let mut input = vec![value_info(names::OBS, obs_type, &obs_dims)];
        input.extend(self.state_infos(false));
        let graph = GraphProto {
            node: b.nodes,
            name: "rlhost_policy".into(),
            initializer: b.initializers,
            doc_string: "rl_games actor_critic policy: observations to deterministic environment actions".into(),
            input,
            output,
        };
        Ok(ModelProto {
            ir_version: IR_VERSION,
            opset_import: vec![OperatorSetIdProto { domain: String::new(), version: OPSET }],
            producer_name: "rlhost".into(),
            producer_version: producer_version.into(),
            domain: "org.rlhost".into(),
            model_version: 1,
            doc_string: String::new(),
            graph: Some(graph),
            metadata_props: metadata
                .iter()
                .map(|(key, value)| StringStringEntryProto { key: key.clone(), value: value.clone() })
                .collect(),
        })
    }
}

/// Whether a parameter name belongs to the critic (needed only for the `value` output).
pub fn is_critic_param(name: &str) -> bool {
    CRITIC_PREFIXES.iter().any(|p| name.starts_with(p))
}

/// The serialised model.
pub fn encode(model: &ModelProto) -> Vec<u8> {
    prost::Message::encode_to_vec(model)
}

fn write_error(path: &Path, what: impl std::fmt::Display) -> PluginError {
    PluginError::new(ErrorKind::Io, format!("cannot write ONNX file '{}': {what}", path.display()))
}

/// Writes `bytes` to `path` atomically: a temporary file `.<name>.tmp<pid>` in the same folder,
/// fsync, then either `rename` over the target (`replace`) or a hard link that fails when the
/// target exists (so an existing file is never overwritten, even by a race), then fsync of the
/// folder. A reader never sees a partial file.
pub fn write_file(path: &Path, bytes: &[u8], replace: bool) -> Result<(), PluginError> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    if !dir.is_dir() {
        return Err(write_error(path, format!("folder {} does not exist", dir.display())));
    }
    if !replace && path.symlink_metadata().is_ok() {
        return Err(exists_error(path));
    }
    let file_name = path.file_name().ok_or_else(|| write_error(path, "no file name"))?.to_string_lossy();
    let tmp: PathBuf = dir.join(format!(".{file_name}.tmp{}", std::process::id()));
    let result = (|| -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        if replace {
            std::fs::rename(&tmp, path)?;
        } else {
            std::fs::hard_link(&tmp, path)?;
            std::fs::remove_file(&tmp)?;
        }
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    match result {
        Ok(()) => Ok(()),
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                Err(exists_error(path))
            } else {
                Err(write_error(path, e))
            }
        }
    }
}

fn exists_error(path: &Path) -> PluginError {
    PluginError::new(
        ErrorKind::Io,
        format!("output {} already exists: pick another --output or pass --force to replace it", path.display()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outputs_parse_names_and_refuse_unknown_ones() {
        let o = Outputs::parse(["sigma", "mu"]).unwrap();
        assert_eq!(o.names(), vec!["actions", "mu", "sigma"]);
        let e = Outputs::parse(["value", "logits"]).unwrap_err();
        assert_eq!(e.message.as_str(), "export: unknown output 'logits' (expected mu, sigma or value)");
    }

    #[test]
    fn the_writer_never_overwrites_unless_asked_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.onnx");
        write_file(&path, b"one", false).unwrap();
        let e = write_file(&path, b"two", false).unwrap_err();
        assert!(e.message.contains("already exists") && e.message.contains("p.onnx"), "{}", e.message);
        assert_eq!(std::fs::read(&path).unwrap(), b"one");
        write_file(&path, b"three", true).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"three");
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().flatten().map(|e| e.file_name()).collect();
        assert_eq!(names, vec![std::ffi::OsString::from("p.onnx")]);
        let e = write_file(&dir.path().join("missing/p.onnx"), b"x", false).unwrap_err();
        assert!(e.message.contains("does not exist"), "{}", e.message);
    }

    #[test]
    fn check_exportable_names_the_network() {
        let e = check_exportable(&serde_json::json!({"name": "resnet_actor"})).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Unsupported);
        assert_eq!(
            e.message.as_str(),
            "export: network 'resnet_actor' is not supported by the ONNX exporter (only actor_critic)"
        );
        let recurrent = serde_json::json!({"name": "actor_critic", "rnn": {"name": "lstm"}, "cnn": {"type": "conv2d"}});
        assert!(check_exportable(&recurrent).is_ok());
    }

    #[test]
    fn gate_blocks_move_to_onnx_order() {
        let p = DenseF32 { dims: vec![4], data: vec![0.0, 1.0, 2.0, 3.0] };
        assert_eq!(onnx_gate_order(RnnKind::Lstm, &p), vec![0.0, 3.0, 1.0, 2.0]);
        let p = DenseF32 { dims: vec![3, 2], data: vec![0.0, 0.5, 1.0, 1.5, 2.0, 2.5] };
        assert_eq!(onnx_gate_order(RnnKind::Gru, &p), vec![1.0, 1.5, 0.0, 0.5, 2.0, 2.5]);
        assert_eq!(state_names(RnnKind::Lstm, "critic_")[1], ("critic_c_in".into(), "critic_c_out".into()));
    }

    #[test]
    fn the_encoding_round_trips_through_prost() {
        let model = ModelProto {
            ir_version: IR_VERSION,
            opset_import: vec![OperatorSetIdProto { domain: String::new(), version: OPSET }],
            graph: Some(GraphProto {
                name: "g".into(),
                input: vec![float_input("obs", true, &[3])],
                ..Default::default()
            }),
            ..Default::default()
        };
        let decoded: ModelProto = prost::Message::decode(encode(&model).as_slice()).unwrap();
        assert_eq!(decoded, model);
    }
}

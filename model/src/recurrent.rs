//! rl_games' recurrent layers (`LSTMWithDones`, `GRUWithDones`, docs/rl_games.md §5.6): a
//! `torch.nn.LSTM`/`GRU` run through the same ATen kernel, with the hidden state zeroed where a
//! sequence crosses an episode boundary, and the `LayerNorm` rl_games puts after it.
//!
//! Parameters are plain tensors with `torch.nn.LSTM`'s names (`weight_ih_l<k>`, `weight_hh_l<k>`,
//! `bias_ih_l<k>`, `bias_hh_l<k>`), so a state dict maps 1:1.
//!
//! [`TrunkSizes`] and [`recurrent_trunk`] are `A2CBuilder.Network`'s placement of the RNN around
//! the MLP; the policy's network and the central value network share them.
use crate::network::SeqInput;
use crate::spec::{RnnKind, RnnSpec};
use tch::{Device, Kind, Tensor};

/// A stack of LSTM or GRU cells (time-major input, `batch_first = False`).
#[derive(Debug)]
pub struct Recurrent {
    spec: RnnSpec,
    /// Per layer: weight_ih, weight_hh, bias_ih, bias_hh, in `torch.nn.LSTM`'s flat order.
    params: Vec<Tensor>,
}

/// `torch.nn.LayerNorm(units)` (ε = 1e-5, weight 1, bias 0 at construction).
#[derive(Debug)]
pub struct LayerNorm {
    /// (units,).
    pub weight: Tensor,
    /// (units,).
    pub bias: Tensor,
}

impl LayerNorm {
    /// A fresh layer norm (no generator draws, as in PyTorch).
    pub(crate) fn new(units: i64) -> Self {
        let cpu = (Kind::Float, Device::Cpu);
        LayerNorm { weight: Tensor::ones([units], cpu), bias: Tensor::zeros([units], cpu) }
    }

    pub(crate) fn to_device(&self, device: Device) -> Self {
        let leaf = |t: &Tensor| t.to_device(device).detach().set_requires_grad(true);
        LayerNorm { weight: leaf(&self.weight), bias: leaf(&self.bias) }
    }

    pub(crate) fn forward(&self, x: &Tensor) -> Tensor {
        let units = self.weight.size()[0];
        x.layer_norm([units], Some(&self.weight), Some(&self.bias), 1e-5, true)
    }

    /// `weight`, `bias` under `prefix`.
    pub(crate) fn named(&self, prefix: &str, out: &mut Vec<(String, Tensor)>) {
        out.push((format!("{prefix}.weight"), self.weight.shallow_clone()));
        out.push((format!("{prefix}.bias"), self.bias.shallow_clone()));
    }
}

impl Recurrent {
    /// `torch.nn.LSTM(input, units, layers)` / `GRU`: every parameter drawn from U(±1/√units) on
    /// the CPU generator in the flat order (`reset_parameters`), so a seed gives PyTorch's weights.
    pub(crate) fn new(spec: &RnnSpec, input: i64) -> Self {
        let bound = 1.0 / (spec.units as f64).sqrt();
        Self::build(spec, input, |shape| Tensor::empty(shape, (Kind::Float, Device::Cpu)).uniform_(-bound, bound))
    }

    /// The same layout with zero parameters and no draws (weights that are loaded next).
    pub(crate) fn zeros(spec: &RnnSpec, input: i64) -> Self {
        Self::build(spec, input, |shape| Tensor::zeros(shape, (Kind::Float, Device::Cpu)))
    }

    fn build(spec: &RnnSpec, input: i64, mut make: impl FnMut(&[i64]) -> Tensor) -> Self {
        let rows = spec.kind.gates() * spec.units;
        let mut params = Vec::new();
        for layer in 0..spec.layers {
            let fan_in = if layer == 0 { input } else { spec.units };
            params.push(make(&[rows, fan_in]));
            params.push(make(&[rows, spec.units]));
            params.push(make(&[rows]));
            params.push(make(&[rows]));
        }
        Recurrent { spec: *spec, params }
    }

    pub(crate) fn to_device(&self, device: Device) -> Self {
        let leaf = |t: &Tensor| t.to_device(device).detach().set_requires_grad(true);
        Recurrent { spec: self.spec, params: self.params.iter().map(leaf).collect() }
    }

    /// The parameters under `prefix` with `torch.nn.LSTM`'s names.
    pub(crate) fn named(&self, prefix: &str, out: &mut Vec<(String, Tensor)>) {
        let names = ["weight_ih", "weight_hh", "bias_ih", "bias_hh"];
        for (i, p) in self.params.iter().enumerate() {
            out.push((format!("{prefix}.{}_l{}", names[i % 4], i / 4), p.shallow_clone()));
        }
    }

    /// Zero states for `batch` sequences: (layers, batch, units) each, (h, c) or (h,).
    pub fn zero_states(&self, batch: i64, device: Device) -> Vec<Tensor> {
        let shape = [self.spec.layers, batch, self.spec.units];
        (0..self.spec.kind.states()).map(|_| Tensor::zeros(shape, (Kind::Float, device))).collect()
    }

    /// One ATen call over the whole (T, B, F) input from `states`.
    fn run(&self, input: &Tensor, states: &[Tensor], train: bool) -> (Tensor, Vec<Tensor>) {
        let layers = self.spec.layers;
        match self.spec.kind {
            RnnKind::Lstm => {
                let (out, h, c) = input.lstm(states, &self.params, true, layers, 0.0, train, false, false);
                (out, vec![h, c])
            }
            RnnKind::Gru => {
                let (out, h) = input.gru(&states[0], &self.params, true, layers, 0.0, train, false, false);
                (out, vec![h])
            }
        }
    }

    /// `RnnWithDones.forward`: the (T, B, F) input from `states`; with `dones` (T, B), float 0/1,
    /// the states of the sequences whose step `t` starts an episode are zeroed before step `t`.
    ///
    /// rl_games splits the time axis at every step (after the first) where any sequence is done
    /// and runs the cell on each chunk, multiplying the states by `1 − done` at the chunk's start;
    /// the same chunks are run here, so the kernels see rl_games' calls (one host read of the
    /// done flags per call, as rl_games' `.cpu()`).
    pub fn forward(
        &self,
        input: &Tensor,
        states: &[Tensor],
        dones: Option<&Tensor>,
        train: bool,
    ) -> (Tensor, Vec<Tensor>) {
        let Some(dones) = dones else { return self.run(input, states, train) };
        let steps = input.size()[0];
        let not_dones: Tensor = 1.0 - dones.to_kind(Kind::Float);
        let any_done: Vec<bool> = {
            let flags = not_dones.eq(0.0).any_dim(1, false).to_device(Device::Cpu);
            Vec::<bool>::try_from(&flags).expect("bool flags")
        };
        let mut bounds = vec![0i64];
        bounds.extend((1..steps).filter(|&t| any_done[t as usize]));
        bounds.push(steps);
        let mut states: Vec<Tensor> = states.iter().map(Tensor::shallow_clone).collect();
        let mut outs = Vec::with_capacity(bounds.len() - 1);
        for w in bounds.windows(2) {
            let keep = not_dones.get(w[0]).unsqueeze(0).unsqueeze(-1);
            let masked: Vec<Tensor> = states.iter().map(|s| s * &keep).collect();
            let (out, next) = self.run(&input.narrow(0, w[0], w[1] - w[0]), &masked, train);
            outs.push(out);
            states = next;
        }
        (Tensor::cat(&outs, 0), states)
    }
}

/// The layer sizes `A2CBuilder.Network.__init__` derives from where the RNN sits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TrunkSizes {
    /// Input features of the RNN (0 without one).
    pub rnn_in: i64,
    /// Input features of the MLP's first layer.
    pub mlp_in: i64,
    /// Features the heads (value, μ, σ) read.
    pub features: i64,
}

impl TrunkSizes {
    /// For `obs_size` input features (the flat observations or the CNN tower's output) and an MLP
    /// of `mlp_units`: an after-MLP RNN reads `[mlp(x), x]` with `concat_input` and feeds the heads
    /// (`[rnn, x]` with `concat_output`); a before-MLP one reads `x` (rl_games ignores
    /// `concat_input` there) and feeds the MLP.
    pub fn new(rnn: Option<&RnnSpec>, obs_size: i64, mlp_units: &[i64]) -> Self {
        let mlp_out = mlp_units.last().copied().unwrap_or(obs_size);
        let Some(r) = rnn else { return TrunkSizes { rnn_in: 0, mlp_in: obs_size, features: mlp_out } };
        let concat = if r.concat_output { obs_size } else { 0 };
        if r.before_mlp {
            TrunkSizes { rnn_in: obs_size, mlp_in: r.units + concat, features: mlp_out }
        } else {
            let rnn_in = mlp_out + if r.concat_input { obs_size } else { 0 };
            TrunkSizes { rnn_in, mlp_in: obs_size, features: r.units + concat }
        }
    }
}

/// One branch's trunk of `A2CBuilder.Network.forward` with an RNN: the MLP (`mlp`) and the RNN in
/// the configured order, with the layer norm and the concatenations. `x` is (batch, F) with each
/// sequence's `seq.seq_length` rows consecutive; returns the features and the states after the
/// last step.
pub(crate) fn recurrent_trunk(
    spec: &RnnSpec,
    cell: &Recurrent,
    norm: Option<&LayerNorm>,
    mlp: &dyn Fn(&Tensor) -> Tensor,
    x: &Tensor,
    seq: &SeqInput<'_>,
    states: &[Tensor],
) -> (Tensor, Vec<Tensor>) {
    let input = if spec.before_mlp {
        x.shallow_clone()
    } else {
        let h = mlp(x);
        if spec.concat_input {
            Tensor::cat(&[h, x.shallow_clone()], 1)
        } else {
            h
        }
    };
    let batch = input.size()[0];
    let num_seqs = batch / seq.seq_length;
    // (batch, F) → (T, num_seqs, F): each sequence's rows are consecutive in the batch.
    let input = input.reshape([num_seqs, seq.seq_length, -1]).transpose(0, 1);
    let dones = seq.dones.map(|d| d.reshape([num_seqs, seq.seq_length]).transpose(0, 1));
    let (out, states) = cell.forward(&input, states, dones.as_ref(), seq.train);
    let mut out = out.transpose(0, 1).contiguous().reshape([batch, -1]);
    if let Some(norm) = norm {
        out = norm.forward(&out);
    }
    if spec.concat_output {
        out = Tensor::cat(&[out, x.shallow_clone()], 1);
    }
    if spec.before_mlp {
        out = mlp(&out);
    }
    (out, states)
}

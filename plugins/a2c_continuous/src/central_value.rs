//! rl_games' asymmetric critic, `CentralValueTrain` (docs/rl_games.md §4.17).
//!
//! A value network of its own reads the environment's privileged `states`. It replaces the
//! actor-critic's value everywhere a value is used: the rollout's V(s_t), the time-out bootstrap
//! and the last values of GAE. Once per epoch, after the dataset is prepared and before the policy
//! update, it is fitted to the returns:
//!
//! ```text
//! for mini_epoch in 1..=mini_epochs:                  # its own mini_epochs
//!     for each contiguous minibatch of its own minibatch_size:
//!         V = net(normalise(states))                  # the state statistics update first (quirk 1)
//!         loss = mean(critic_loss(V_old, V, R, e_clip, clip_value))   # no 0.5, no critic_coef
//!         Adam step (own LR; gradients clipped to grad_norm when truncate_grads)
//! lr ← linear schedule over the agent's max_epochs, or constant (quirk 16)
//! ```
//!
//! `V_old` and `R` are the agent's dataset values and returns, normalised by this critic's value
//! normaliser, which is also the agent's (rl_games' `self.value_mean_std`).
//!
//! With an `rnn` in its network the critic keeps its own recurrent states through the rollout
//! (the rollout's carry holds them: one step per value, zeroed on done, recorded every
//! `seq_length` steps) and its minibatches are whole sequences started from the recorded states,
//! reset on done whatever `zero_rnn_on_done` says (rl_games' `calc_gradients` always passes the
//! dones).
//!
//! With the block's `mixed_precision` on CUDA each minibatch step runs under float16 autocast,
//! unscaled (rl_games').
use crate::adam::Adam;
use crate::config::CentralValueConfig;
use crate::losses::critic_loss;
use crate::schedule::Scheduler;
use crate::update::Sequences;
use rlhost_model::central_value::{CentralValue, MODULE};
use rlhost_model::network::SeqInput;
use rlhost_sdk::{ErrorKind, PluginError};
use tch::{Device, Kind, Tensor};

/// The critic's autocast dtype with its `mixed_precision`: `torch.amp.autocast('cuda')` without a
/// dtype, which is float16.
pub const CRITIC_MIXED_PRECISION_DTYPE: Kind = Kind::Half;

/// What the critic trains on: the flattened batch (row = env·H + t, as the agent's).
#[derive(Debug)]
pub struct CriticBatch<'a> {
    /// (B, *state_shape).
    pub states: &'a Tensor,
    /// (B, 1), normalised when normalize_value.
    pub old_values: &'a Tensor,
    /// (B, 1), normalised when normalize_value.
    pub returns: &'a Tensor,
    /// A recurrent critic's sequences (its own recorded states, the batch's dones).
    pub sequences: Option<&'a Sequences>,
    /// Rows per sequence.
    pub seq_length: i64,
}

/// The critic's epoch summary (`losses/cval_loss`, `info/cval_lr`).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CriticStats {
    /// Mean minibatch loss over all mini-epochs (0 with `freeze_critic`).
    pub loss: f64,
    /// The learning rate after this epoch's schedule update.
    pub lr: f64,
    /// The critic's frame counter after this epoch (the scalars' x).
    pub frame: u64,
}

/// The central value network, its optimiser and schedule.
#[derive(Debug)]
pub struct CentralValueTrain {
    pub cfg: CentralValueConfig,
    pub model: CentralValue,
    pub adam: Adam,
    pub scheduler: Scheduler,
    /// Epochs trained (rl_games' `epoch_num`, the linear schedule's step).
    pub epoch: u64,
    /// Frames trained on (rl_games' `frame`).
    pub frame: u64,
    /// The process group when training across processes (gradients are averaged as the policy's).
    pub dist: Option<crate::distributed::Distributed>,
}

impl CentralValueTrain {
    /// Builds the critic for states of `state_shape`; `normalize_value` is the agent's. The
    /// construction draws from libtorch's generator (after the actor-critic's, as in rl_games).
    pub fn new(cfg: &CentralValueConfig, state_shape: &[i64], normalize_value: bool, device: Device) -> Self {
        let model = CentralValue::new(&cfg.network, state_shape, cfg.normalize_input, normalize_value, device);
        let params =
            model.net.named_parameters().into_iter().map(|(name, p)| (format!("{MODULE}.{name}"), p)).collect();
        CentralValueTrain {
            adam: Adam::new(params, cfg.learning_rate, cfg.weight_decay),
            scheduler: Scheduler::new(cfg.lr_schedule.clone(), cfg.learning_rate, 0.0),
            cfg: cfg.clone(),
            model,
            epoch: 0,
            frame: 0,
            dist: None,
        }
    }

    /// `get_value`: the de-normalised value (N, 1) of states (N, *state_shape), and a recurrent
    /// critic's states after this step from `rnn_states` (empty without an RNN).
    pub fn value(&self, states: &Tensor, rnn_states: &[Tensor]) -> (Tensor, Vec<Tensor>) {
        self.model.value(states, rnn_states)
    }

    /// `train_net`: `mini_epochs` passes over the batch in contiguous minibatches, then the
    /// schedule. `epoch` names the agent's epoch in errors.
    pub fn train_net(&mut self, batch: &CriticBatch<'_>, epoch: u64) -> Result<CriticStats, PluginError> {
        let rows = batch.states.size()[0];
        let m = self.cfg.minibatch_size;
        let num_minibatches = self.cfg.num_minibatches(rows);
        let mut loss_sum = 0.0;
        if !self.cfg.freeze_critic {
            for mini_epoch in 0..self.cfg.mini_epochs {
                for i in 0..num_minibatches {
                    // rl_games sums `loss.item()`: one float per minibatch, added in float64.
                    loss_sum += self.train_minibatch(batch, i * m, m)?.ok_or_else(|| {
                        PluginError::new(
                            ErrorKind::NonFinite,
                            format!(
                                "non-finite central value loss at epoch {epoch} (mini-epoch {}, minibatch {}); training stopped, the last checkpoint on disk is kept",
                                mini_epoch + 1,
                                i + 1
                            ),
                        )
                    })?;
                }
            }
        }
        let loss = loss_sum / (self.cfg.mini_epochs * num_minibatches) as f64;
        self.epoch += 1;
        let (lr, _) = self.scheduler.update(self.adam.lr, 0.0, self.epoch, 0, 0.0);
        self.adam.lr = lr;
        self.frame += rows as u64;
        Ok(CriticStats { loss, lr, frame: self.frame })
    }

    /// `train_critic` / `calc_gradients` on rows `[start, start + len)`: one Adam step. Returns
    /// the loss, or `None` (and no step) when it is not finite. With `mixed_precision` on CUDA the
    /// whole step runs under float16 autocast, as rl_games' `train` wraps `train_critic` in
    /// `torch.amp.autocast('cuda')` (torch's default dtype there); rl_games builds the critic a
    /// GradScaler too but only its unused `train_on_batch` calls it, so nothing is scaled.
    fn train_minibatch(&mut self, batch: &CriticBatch<'_>, start: i64, len: i64) -> Result<Option<f64>, PluginError> {
        let device = batch.states.device();
        if self.cfg.mixed_precision && device.is_cuda() {
            rlhost_torch_shim::autocast(device, CRITIC_MIXED_PRECISION_DTYPE, || self.step_on_rows(batch, start, len))
                .map_err(|e| PluginError::new(ErrorKind::Device, format!("central value mixed precision: {e}")))?
        } else {
            self.step_on_rows(batch, start, len)
        }
    }

    /// The forward, loss and Adam step of [`CentralValueTrain::train_minibatch`].
    fn step_on_rows(&mut self, batch: &CriticBatch<'_>, start: i64, len: i64) -> Result<Option<f64>, PluginError> {
        let rows = |t: &Tensor| t.narrow(0, start, len);
        let values = match batch.sequences {
            None => self.model.forward_train(&rows(batch.states), &SeqInput::NONE),
            Some(seqs) => {
                // `PPODataset._get_item_rnn`: whole sequences, with the states they started from.
                let (first, count) = (start / batch.seq_length, len / batch.seq_length);
                let states: Vec<Tensor> = seqs.states.iter().map(|s| s.narrow(1, first, count).contiguous()).collect();
                let dones = rows(&seqs.dones);
                let seq = SeqInput { states: &states, dones: Some(&dones), seq_length: batch.seq_length, train: true };
                self.model.forward_train(&rows(batch.states), &seq)
            }
        };
        let (old, returns) = (rows(batch.old_values), rows(batch.returns));
        let loss = critic_loss(&old, &values, &returns, self.cfg.e_clip, self.cfg.clip_value).mean(Kind::Float);
        let value = loss.double_value(&[]);
        if !value.is_finite() {
            return Ok(None);
        }
        self.adam.zero_grad();
        loss.backward();
        if let Some(d) = &self.dist {
            d.average_gradients(&self.adam.params)?;
        }
        if self.cfg.truncate_grads {
            self.adam.clip_grad_norm(self.cfg.grad_norm);
        }
        self.adam.step();
        Ok(Some(value))
    }
}

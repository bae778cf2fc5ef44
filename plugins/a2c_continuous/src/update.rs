//! The PPO update (docs/rl_games.md §4.6–§4.10): prepare the dataset, then `mini_epochs` passes over fixed,
//! contiguous minibatches, one Adam step each.
use crate::adam::Adam;
use crate::config::{PpoConfig, ScheduleType};
use crate::diagnostics::{Diagnostics, DiagnosticsStats};
use crate::distributed::Distributed;
use crate::grad_scaler::GradScaler;
use crate::losses::{actor_loss, bound_loss, critic_loss, policy_kl};
use crate::rollout::Rollout;
use crate::schedule::Scheduler;
use rlhost_model::network::{entropy, neglogp, SeqInput};
use rlhost_model::normalizer::RunningMeanStd;
use rlhost_model::policy::Model;
use rlhost_sdk::{ErrorKind, PluginError};
use tch::{Device, Kind, Tensor};

/// The flattened batch, row = env·H + t (each env's trajectory contiguous).
#[derive(Debug)]
pub struct Batch {
    pub obs: Tensor,
    /// The privileged states (B, *state_shape), with a central value.
    pub states: Option<Tensor>,
    pub actions: Tensor,
    /// Rollout neg-log-probs (never overwritten).
    pub old_neglogp: Tensor,
    /// Values (B, 1): normalised when normalize_value.
    pub old_values: Tensor,
    /// Returns (B, 1): normalised when normalize_value.
    pub returns: Tensor,
    /// (B,).
    pub advantages: Tensor,
    /// μ (B, A), overwritten after each minibatch (quirk 3).
    pub mu: Tensor,
    /// σ (B, A), overwritten after each minibatch (quirk 3).
    pub sigma: Tensor,
    /// A recurrent policy's sequences, `None` without an RNN.
    pub sequences: Option<Sequences>,
    /// A recurrent central value's sequences (its own states), `None` without one.
    pub critic_sequences: Option<Sequences>,
}

/// The batch as rl_games' `PPODataset` sees it for an RNN: B / seq_length sequences of
/// `seq_length` consecutive rows (one env's steps), with the states each started from.
#[derive(Debug)]
pub struct Sequences {
    /// Per state tensor (layers, B / seq_length, units); sequence k = rows k·seq_length.. .
    pub states: Vec<Tensor>,
    /// Done flags (B,) in row order, float32 (the update's resets with `zero_rnn_on_done`).
    pub dones: Tensor,
}

/// (H / S, layers, N, units) → (layers, N·H / S, units): sequence index env·(H / S) + k, the
/// order of the flattened rows (rl_games' `permute(1, 2, 0, 3)`).
fn flatten_states(t: &Tensor) -> Tensor {
    let size = t.size();
    t.permute([1, 2, 0, 3]).reshape([size[1], size[0] * size[2], size[3]])
}

/// The sequences of a state record (H / S, layers, N, units) each, with the rollout's dones
/// (H, N); `None` for an empty record (no RNN).
fn sequences(record: &[Tensor], dones: &Tensor) -> Option<Sequences> {
    (!record.is_empty())
        .then(|| Sequences { states: record.iter().map(flatten_states).collect(), dones: flatten(dones) })
}

/// (H, N, …) → (N·H, …) by swapping the first two axes (quirk 2: row = env·H + t).
fn flatten(t: &Tensor) -> Tensor {
    let size = t.size();
    let mut shape = vec![size[0] * size[1]];
    shape.extend(&size[2..]);
    t.transpose(0, 1).reshape(shape.as_slice())
}

/// `prepare_dataset` (§4.6): returns, value normalisation, advantage normalisation. `value_rms`
/// is the agent's value normaliser: the model's, or the central value's when there is one (§4.17).
pub fn prepare_batch(rollout: &Rollout, value_rms: Option<&mut RunningMeanStd>, cfg: &PpoConfig) -> Batch {
    tch::no_grad(|| {
        let b = &rollout.buf;
        let values = flatten(&b.values).unsqueeze(1);
        let advantages = flatten(&rollout.advantages).unsqueeze(1);
        let returns = &advantages + &values;
        let mut advantages = (&returns - &values).squeeze_dim(1);
        let (old_values, returns) = match value_rms {
            Some(rms) => {
                // Quirk 5: values update the stats and are normalised, then returns do the same.
                if !cfg.freeze_critic {
                    rms.update(&values);
                }
                let values_n = rms.normalize(&values);
                if !cfg.freeze_critic {
                    rms.update(&returns);
                }
                (values_n, rms.normalize(&returns))
            }
            None => (values, returns),
        };
        if cfg.normalize_advantage {
            let mean = advantages.mean(Kind::Float);
            let std = advantages.std(true);
            advantages = (advantages - mean) / (std + 1e-8);
        }
        Batch {
            obs: flatten(&b.obs),
            states: b.states.as_ref().map(flatten),
            actions: flatten(&b.actions),
            old_neglogp: flatten(&b.neglogp),
            old_values,
            returns,
            advantages,
            mu: flatten(&b.mus),
            sigma: flatten(&b.sigmas),
            sequences: sequences(&b.rnn_states, &b.dones),
            critic_sequences: sequences(&b.critic_rnn_states, &b.dones),
        }
    })
}

/// Epoch means of the logged quantities.
#[derive(Debug, Clone, Default)]
pub struct UpdateStats {
    pub a_loss: f64,
    pub c_loss: f64,
    pub entropy: f64,
    pub b_loss: f64,
    /// Mean of the mini-epoch mean KLs.
    pub kl: f64,
    /// LR used by the last minibatch (before its own scheduler update; quirk 7).
    pub last_lr: f64,
    /// `use_diagnostics`: rl_games' diagnostics of this epoch.
    pub diagnostics: Option<DiagnosticsStats>,
}

/// Optimiser, scheduler and the scheduled coefficients.
#[derive(Debug)]
pub struct Trainer {
    pub adam: Adam,
    pub scheduler: Scheduler,
    pub entropy_coef: f64,
    /// The process group when training across processes (`multi_gpu`).
    pub dist: Option<Distributed>,
    /// `mixed_precision` on CUDA: the loss scaler; the forward and losses then run under
    /// [`MIXED_PRECISION_DTYPE`] autocast (rl_games' `calc_gradients`).
    pub scaler: Option<GradScaler>,
}

/// The autocast dtype of the policy update with `mixed_precision`: rl_games 1.6.5's
/// `a2c_continuous.calc_gradients` asks `torch.amp.autocast('cuda', dtype=torch.bfloat16)`.
pub const MIXED_PRECISION_DTYPE: Kind = Kind::BFloat16;

/// Why a minibatch step failed.
enum StepError {
    /// The named quantity was not finite.
    NonFinite(&'static str),
    /// A collective with the other ranks failed, or libtorch refused a mixed-precision step.
    Peer(PluginError),
}

/// A failed collective as the error; a non-finite quantity as the inner result.
fn peer_failure_first(
    step: Result<MinibatchLosses, StepError>,
) -> Result<Result<MinibatchLosses, &'static str>, PluginError> {
    match step {
        Ok(losses) => Ok(Ok(losses)),
        Err(StepError::NonFinite(what)) => Ok(Err(what)),
        Err(StepError::Peer(e)) => Err(e),
    }
}

/// One minibatch's forward and losses, before the gradient step.
struct Forward {
    /// The policy's μ, σ of the minibatch rows (bf16 under autocast, as rl_games').
    mu: Tensor,
    sigma: Tensor,
    /// Neg-log-probs of the stored actions under the current policy.
    neglogp: Tensor,
    a_loss: Tensor,
    c_loss: Tensor,
    entropy: Tensor,
    b_loss: Tensor,
    /// The total loss the gradients come from.
    loss: Tensor,
}

/// Loss terms of one minibatch (scalars, still on the device).
struct MinibatchLosses {
    a_loss: Tensor,
    c_loss: Tensor,
    entropy: Tensor,
    b_loss: Tensor,
    kl: Tensor,
}

impl Trainer {
    /// Runs `mini_epochs` passes over the batch (`train_epoch` steps 5–6).
    pub fn train_epoch(
        &mut self,
        model: &mut Model,
        batch: &mut Batch,
        cfg: &PpoConfig,
        epoch: u64,
        frame: u64,
    ) -> Result<UpdateStats, PluginError> {
        let m = cfg.minibatch_size;
        let mut all: Vec<MinibatchLosses> = Vec::new();
        let mut mini_epoch_kls: Vec<Tensor> = Vec::new();
        let mut last_lr = self.adam.lr;
        let mut diagnostics = cfg.use_diagnostics.then(Diagnostics::default);
        for mini_epoch in 0..cfg.mini_epochs {
            let mut kls = Vec::new();
            for i in 0..cfg.num_minibatches() {
                last_lr = self.adam.lr;
                let step = self.train_minibatch(model, batch, i * m, m, cfg, diagnostics.as_mut());
                let mut losses = peer_failure_first(step)?.map_err(|what| {
                    PluginError::new(
                        ErrorKind::NonFinite,
                        format!(
                            "non-finite {what} at epoch {epoch} (mini-epoch {}, minibatch {}); training stopped, the last checkpoint on disk is kept",
                            mini_epoch + 1,
                            i + 1
                        ),
                    )
                })?;
                if cfg.schedule_type == ScheduleType::PerMinibatch {
                    losses.kl = self.ranks_mean(losses.kl)?;
                    self.schedule(epoch, frame, losses.kl.double_value(&[]))?;
                }
                kls.push(losses.kl.shallow_clone());
                all.push(losses);
            }
            let mean_kl = self.ranks_mean(Tensor::stack(&kls, 0).mean(Kind::Float))?;
            if cfg.schedule_type == ScheduleType::Standard {
                self.schedule(epoch, frame, mean_kl.double_value(&[]))?;
            }
            // ScheduleType::StandardEpoch: never updates the LR (quirk 7).
            mini_epoch_kls.push(mean_kl);
            if let Some(d) = diagnostics.as_mut() {
                d.mini_epoch();
            }
        }
        let mean = |f: &dyn Fn(&MinibatchLosses) -> &Tensor| -> Tensor {
            Tensor::stack(&all.iter().map(|l| f(l).shallow_clone()).collect::<Vec<_>>(), 0).mean(Kind::Float)
        };
        let summary = Tensor::stack(
            &[
                mean(&|l| &l.a_loss),
                mean(&|l| &l.c_loss),
                mean(&|l| &l.entropy),
                mean(&|l| &l.b_loss),
                Tensor::stack(&mini_epoch_kls, 0).mean(Kind::Float),
            ],
            0,
        )
        .to_kind(Kind::Double)
        .to_device(Device::Cpu);
        let mut v = [0f64; 5];
        summary.copy_data(&mut v, 5);
        Ok(UpdateStats {
            a_loss: v[0],
            c_loss: v[1],
            entropy: v[2],
            b_loss: v[3],
            kl: v[4],
            last_lr,
            diagnostics: diagnostics.as_mut().map(Diagnostics::finish),
        })
    }

    /// The scheduler's step; across processes rank 0's rate (and entropy coefficient) is every
    /// rank's, as rl_games' `update_lr` broadcasts it.
    fn schedule(&mut self, epoch: u64, frame: u64, kl: f64) -> Result<(), PluginError> {
        let (mut lr, mut entropy_coef) = self.scheduler.update(self.adam.lr, self.entropy_coef, epoch, frame, kl);
        if let Some(d) = &self.dist {
            let leader = d.broadcast_values("broadcast of the learning rate", &[lr, entropy_coef])?;
            (lr, entropy_coef) = (leader[0], leader[1]);
        }
        self.adam.lr = lr;
        self.entropy_coef = entropy_coef;
        Ok(())
    }

    /// The KL averaged over the ranks (rl_games' `all_reduce(av_kls) / world_size`).
    fn ranks_mean(&self, kl: Tensor) -> Result<Tensor, PluginError> {
        match &self.dist {
            Some(d) => d.average(&kl),
            None => Ok(kl),
        }
    }

    /// The forward pass and losses on rows `[start, start + len)` (the body of rl_games'
    /// autocast region in `calc_gradients`).
    fn forward(&self, model: &mut Model, batch: &Batch, start: i64, len: i64, cfg: &PpoConfig) -> Forward {
        let rows = |t: &Tensor| t.narrow(0, start, len);
        let out = match &batch.sequences {
            None => model.forward_train(&rows(&batch.obs)),
            Some(seqs) => {
                // `PPODataset._get_item_rnn`: whole sequences, with the states they started from.
                let (first, count) = (start / cfg.seq_length, len / cfg.seq_length);
                let states: Vec<Tensor> = seqs.states.iter().map(|s| s.narrow(1, first, count).contiguous()).collect();
                let dones = cfg.zero_rnn_on_done.then(|| rows(&seqs.dones));
                let seq = SeqInput { states: &states, dones: dones.as_ref(), seq_length: cfg.seq_length, train: true };
                model.forward_train_seq(&rows(&batch.obs), &seq)
            }
        };
        let neglogp = neglogp(&rows(&batch.actions), &out.mu, &out.sigma, &out.log_sigma);

        let a_loss = actor_loss(
            &rows(&batch.old_neglogp),
            &neglogp,
            &rows(&batch.advantages),
            cfg.e_clip,
            cfg.use_smooth_clamp,
            cfg.ppo,
        )
        .mean(Kind::Float);
        // With a central value and `use_experimental_cv: False`, rl_games' critic term is a zero (§4.17).
        let c_loss = if cfg.has_value_loss {
            critic_loss(&rows(&batch.old_values), &out.value, &rows(&batch.returns), cfg.e_clip, cfg.clip_value)
                .mean(Kind::Float)
        } else {
            out.value.zeros_like().sum(Kind::Float)
        };
        let entropy = entropy(&out.sigma).mean(Kind::Float);
        let bounds_coef = cfg.bounds_loss_coef.unwrap_or(0.0);
        let b_loss = bound_loss(&out.mu, cfg.bound_loss_type).mean(Kind::Float);

        // The extra 0.5 on the critic term is rl_games' (quirk 6).
        let loss = &a_loss + &c_loss * (0.5 * cfg.critic_coef) - &entropy * self.entropy_coef + &b_loss * bounds_coef;
        Forward { mu: out.mu, sigma: out.sigma, neglogp, a_loss, c_loss, entropy, b_loss, loss }
    }

    /// `trancate_gradients_and_step` after the backward: across processes the gradients are
    /// averaged first; with the scaler they are unscaled before clipping and the step is skipped
    /// (the scale backed off) when one is not finite.
    fn gradient_step(&mut self, loss: &Tensor, cfg: &PpoConfig) -> Result<(), StepError> {
        self.adam.zero_grad();
        match &self.scaler {
            Some(scaler) => scaler.scale(loss).backward(),
            None => loss.backward(),
        }
        if let Some(d) = &self.dist {
            d.average_gradients(&self.adam.params).map_err(StepError::Peer)?;
        }
        match &mut self.scaler {
            Some(scaler) => {
                if cfg.truncate_grads {
                    scaler.unscale(&self.adam).map_err(StepError::Peer)?;
                    self.adam.clip_grad_norm(cfg.grad_norm);
                }
                scaler.step(&mut self.adam).map_err(StepError::Peer)?;
                scaler.update();
            }
            None => {
                if cfg.truncate_grads {
                    self.adam.clip_grad_norm(cfg.grad_norm);
                }
                self.adam.step();
            }
        }
        Ok(())
    }

    /// One gradient step on rows `[start, start + len)` (`train_actor_critic`, §4.8–4.9).
    /// Returns the name of the non-finite quantity on failure.
    fn train_minibatch(
        &mut self,
        model: &mut Model,
        batch: &mut Batch,
        start: i64,
        len: i64,
        cfg: &PpoConfig,
        diagnostics: Option<&mut Diagnostics>,
    ) -> Result<MinibatchLosses, StepError> {
        let rows = |t: &Tensor| t.narrow(0, start, len);
        let out = match &self.scaler {
            Some(_) => rlhost_torch_shim::autocast(batch.obs.device(), MIXED_PRECISION_DTYPE, || {
                self.forward(model, batch, start, len, cfg)
            })
            .map_err(|e| StepError::Peer(PluginError::new(ErrorKind::Device, format!("mixed precision: {e}"))))?,
            None => self.forward(model, batch, start, len, cfg),
        };
        if !out.loss.double_value(&[]).is_finite() {
            return Err(StepError::NonFinite("loss"));
        }
        self.gradient_step(&out.loss, cfg)?;
        let Forward { neglogp, a_loss, c_loss, entropy, b_loss, .. } = &out;

        let (mu, sigma) = (out.mu.detach(), out.sigma.detach());
        let kl = tch::no_grad(|| policy_kl(&mu, &sigma, &rows(&batch.mu), &rows(&batch.sigma)));
        // Quirk 3: the stored μ, σ of this slice become this forward's, so the next mini-epoch's KL
        // is measured against this one.
        rows(&batch.mu).copy_(&mu);
        rows(&batch.sigma).copy_(&sigma);
        if let Some(d) = diagnostics {
            let (values, returns, old) = (rows(&batch.old_values), rows(&batch.returns), rows(&batch.old_neglogp));
            d.mini_batch(&values, &returns, neglogp, &old, cfg.e_clip);
        }
        Ok(MinibatchLosses {
            a_loss: a_loss.detach(),
            c_loss: c_loss.detach(),
            entropy: entropy.detach(),
            b_loss: b_loss.detach(),
            kl,
        })
    }
}

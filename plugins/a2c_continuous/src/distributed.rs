//! Data-parallel training across processes as rl_games 1.6.5's `multi_gpu` (docs/rl_games.md
//! §4.15): every rank steps its own environments; rank 0's weights are broadcast at the start,
//! gradients are flattened, all-reduced and averaged before clipping, the KL is averaged and the
//! learning rate broadcast from rank 0, and rank 0 alone logs and saves. Beyond rl_games, the
//! normalisers are pooled across ranks after every epoch ([`Distributed::pool_normalizers`]).
//!
//! The process group is libtorch's c10d through `rlhost-torch-shim`: NCCL when the agent trains on
//! a CUDA device (as rl_games' `init_process_group("nccl")`), Gloo on the CPU. The host passes the
//! placement it read from torchrun's variables as `params.config.process_group`.
use rlhost_model::normalizer::RunningMeanStd;
use rlhost_model::section::{config_error, ConfigResult, Section};
use rlhost_sdk::{ErrorKind, PluginError};
use rlhost_torch_shim::{Backend, GroupOptions, ProcessGroup, ReduceOp, ShimError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tch::{Device, Kind, Tensor};

/// `multi_gpu_timeout`'s default in seconds: long enough for rank 0 to write a checkpoint or
/// for the ranks' environments to start at different speeds, short enough to notice a hung peer.
pub const DEFAULT_TIMEOUT_SECS: f64 = 300.0;

/// What `params.config` says about training across processes.
#[derive(Debug, Clone, PartialEq)]
pub struct DistributedConfig {
    /// The host's placement (`process_group`), present when more than one rank trains.
    pub group: Option<GroupOptions>,
    /// `multi_gpu_check_sync`: verify after every epoch that every rank holds rank 0's state.
    pub check_sync: bool,
}

impl DistributedConfig {
    /// Reads `process_group` (set by the host), `multi_gpu_timeout` and `multi_gpu_check_sync`;
    /// the backend follows the agent's `device` ([`backend_for`]).
    pub fn parse(config: &Section<'_>, device: Device) -> ConfigResult<Self> {
        let timeout = config.f64_or("multi_gpu_timeout", DEFAULT_TIMEOUT_SECS)?;
        if !(timeout.is_finite() && timeout > 0.0) {
            return Err(config_error(&config.key_path("multi_gpu_timeout"), "expected a positive number of seconds"));
        }
        let group = match config.section("process_group", "params.config.process_group")? {
            None => None,
            Some(pg) => {
                let count = |key: &str| -> ConfigResult<u32> {
                    let v = pg.opt_count(key)?.ok_or_else(|| config_error(&pg.key_path(key), "missing"))?;
                    u32::try_from(v).map_err(|_| config_error(&pg.key_path(key), "too large"))
                };
                let port = count("master_port")?;
                let restart = count("restart_count")?;
                Some(GroupOptions {
                    master_addr: pg.str_req("master_addr")?.to_string(),
                    master_port: u16::try_from(port)
                        .map_err(|_| config_error(&pg.key_path("master_port"), "not a TCP port"))?,
                    rank: count("rank")?,
                    world_size: count("world_size")?,
                    timeout: Duration::from_secs_f64(timeout),
                    rank0_hosts_store: !pg.bool_or("agent_store", false)?,
                    store_prefix: format!("rlhost/attempt_{restart}"),
                    backend: backend_for(device),
                })
            }
        };
        Ok(DistributedConfig { group, check_sync: config.bool_or("multi_gpu_check_sync", false)? })
    }
}

/// The backend for an agent on `device`: NCCL on its GPU for CUDA, Gloo otherwise.
pub fn backend_for(device: Device) -> Backend {
    match device {
        Device::Cuda(index) => Backend::Nccl { device: u32::try_from(index).unwrap_or(u32::MAX) },
        _ => Backend::Gloo,
    }
}

/// This rank's handle on the process group, shared by the policy's and the central value's
/// trainers (collectives run one at a time, in the same order on every rank).
#[derive(Debug, Clone)]
pub struct Distributed {
    group: Arc<Mutex<ProcessGroup>>,
    rank: u32,
    world_size: u32,
    timeout: Duration,
    /// Seconds spent all-reducing gradients (the benchmark's share of the update).
    grad_seconds: Arc<Mutex<f64>>,
}

impl Distributed {
    /// Joins the group when the config has one (more than one rank), waiting at most the timeout
    /// for the other ranks.
    pub fn join(cfg: &DistributedConfig) -> Result<Option<Self>, PluginError> {
        let Some(options) = &cfg.group else { return Ok(None) };
        let group = ProcessGroup::new(options).map_err(|e| {
            failure(
                options.rank,
                options.world_size,
                options.timeout,
                &format!("cannot join the group at {}:{}", options.master_addr, options.master_port),
                e,
            )
        })?;
        Ok(Some(Distributed {
            group: Arc::new(Mutex::new(group)),
            rank: options.rank,
            world_size: options.world_size,
            timeout: options.timeout,
            grad_seconds: Arc::new(Mutex::new(0.0)),
        }))
    }

    /// Whether this is rank 0, the one that prints, writes TensorBoard and saves.
    pub fn is_leader(&self) -> bool {
        self.rank == 0
    }

    /// The number of ranks.
    pub fn world_size(&self) -> u32 {
        self.world_size
    }

    /// Seconds spent in gradient all-reduces so far.
    pub fn grad_seconds(&self) -> f64 {
        *self.grad_seconds.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn run(&self, what: &str, f: impl FnOnce(&mut ProcessGroup) -> Result<(), ShimError>) -> Result<(), PluginError> {
        let mut group = self.group.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut group).map_err(|e| failure(self.rank, self.world_size, self.timeout, what, e))
    }

    /// rl_games' start of `train()`: every rank takes rank 0's `tensors` (weights, normaliser
    /// statistics, optimiser moments), in place.
    pub fn broadcast_from_leader(&self, tensors: &[Tensor]) -> Result<(), PluginError> {
        self.run("broadcast of rank 0's state", |g| {
            tensors.iter().try_for_each(|t| g.broadcast(&mut t.shallow_clone(), 0))
        })
    }

    /// `trancate_gradients_and_step`'s all-reduce: the gradients of `params`, flattened into
    /// one tensor, summed over the ranks and divided by the world size, written back in place.
    pub fn average_gradients(&self, params: &[(String, Tensor)]) -> Result<(), PluginError> {
        let start = Instant::now();
        let grads: Vec<Tensor> = params.iter().map(|(_, p)| p.grad()).filter(Tensor::defined).collect();
        if grads.is_empty() {
            return Ok(());
        }
        tch::no_grad(|| {
            let mut flat = Tensor::cat(&grads.iter().map(|g| g.view([-1])).collect::<Vec<_>>(), 0);
            self.run("all_reduce of the gradients", |g| g.all_reduce(&mut flat, ReduceOp::Avg))?;
            let mut offset = 0;
            for mut grad in grads {
                let n = grad.numel() as i64;
                grad.copy_(&flat.narrow(0, offset, n).view_as(&grad));
                offset += n;
            }
            Ok::<(), PluginError>(())
        })?;
        *self.grad_seconds.lock().unwrap_or_else(|e| e.into_inner()) += start.elapsed().as_secs_f64();
        Ok(())
    }

    /// The mean over the ranks of a scalar tensor (the KL the adaptive schedule reads).
    pub fn average(&self, value: &Tensor) -> Result<Tensor, PluginError> {
        let mut v = value.detach().copy();
        self.run("all_reduce of the KL", |g| g.all_reduce(&mut v, ReduceOp::Avg))?;
        Ok(v)
    }

    /// Rank 0's `values` on every rank (`update_lr`'s broadcast, the stop decision).
    pub fn broadcast_values(&self, what: &str, values: &[f64]) -> Result<Vec<f64>, PluginError> {
        let mut t = Tensor::from_slice(values);
        self.run(what, |g| g.broadcast(&mut t, 0))?;
        Vec::<f64>::try_from(&t).map_err(|e| PluginError::new(ErrorKind::Other, format!("{what}: {e}")))
    }

    /// Whether any rank asks to stop (Ctrl-C reaches ranks one at a time).
    pub fn any(&self, what: &str, flag: bool) -> Result<bool, PluginError> {
        let mut t = Tensor::from_slice(&[f64::from(u8::from(flag))]);
        self.run(what, |g| g.all_reduce(&mut t, ReduceOp::Sum))?;
        Ok(t.double_value(&[0]) > 0.0)
    }

    /// Replaces every rank's normaliser statistics by the pooled statistics of all ranks'
    /// samples: the mean of the means and, for the variance, the mean of `var + mean²` minus the
    /// pooled mean squared. Every rank starts the epoch with the same statistics and adds as many
    /// samples, so the counts are equal and this pooling is exact; the count stays the per-rank
    /// count, which keeps the next epoch's per-rank updates weighted as a pooled update would be.
    pub fn pool_normalizers(&self, normalizers: &mut [&mut RunningMeanStd]) -> Result<(), PluginError> {
        if normalizers.is_empty() {
            return Ok(());
        }
        tch::no_grad(|| {
            let parts: Vec<Tensor> =
                normalizers.iter().flat_map(|r| [r.mean.view([-1]), (&r.var + &r.mean * &r.mean).view([-1])]).collect();
            let mut flat = Tensor::cat(&parts, 0);
            self.run("all_reduce of the normalisers", |g| g.all_reduce(&mut flat, ReduceOp::Avg))?;
            let mut offset = 0;
            for rms in normalizers.iter_mut() {
                let n = rms.mean.numel() as i64;
                let mean = flat.narrow(0, offset, n).view_as(&rms.mean);
                let second = flat.narrow(0, offset + n, n).view_as(&rms.var);
                rms.var.copy_(&(second - &mean * &mean).clamp_min(0.0));
                rms.mean.copy_(&mean);
                offset += 2 * n;
            }
            Ok(())
        })
    }

    /// `multi_gpu_check_sync`: compares every rank's `state` with rank 0's, bit for bit. Returns
    /// the number of values compared; a difference on any rank is an error on every rank.
    pub fn check_in_sync(&self, state: &[(String, Tensor)], epoch: u64) -> Result<usize, PluginError> {
        let flat = tch::no_grad(|| {
            let parts: Vec<Tensor> =
                state.iter().map(|(_, t)| t.to_device(Device::Cpu).to_kind(Kind::Double).view([-1])).collect();
            Tensor::cat(&parts, 0)
        });
        let mut leader = flat.copy();
        self.run("broadcast for the sync check", |g| g.broadcast(&mut leader, 0))?;
        let differs = flat.ne_tensor(&leader).logical_or(&flat.isnan());
        let mut count = differs.sum(Kind::Double);
        self.run("all_reduce for the sync check", |g| g.all_reduce(&mut count, ReduceOp::Sum))?;
        let total = count.double_value(&[]);
        if total == 0.0 {
            return Ok(flat.numel());
        }
        let mut offset = 0;
        let mut first = None;
        for (name, t) in state {
            let n = t.numel() as i64;
            if first.is_none() && differs.narrow(0, offset, n).any().int64_value(&[]) != 0 {
                first = Some(name.as_str());
            }
            offset += n;
        }
        Err(PluginError::new(
            ErrorKind::Other,
            format!(
                "multi_gpu_check_sync: after epoch {epoch}, {total} values differ from rank 0's across the ranks{}",
                first.map(|n| format!(" (on rank {}: first in '{n}')", self.rank)).unwrap_or_default()
            ),
        ))
    }
}

/// One line naming the rank, the collective and what a user can do about it.
fn failure(rank: u32, world_size: u32, timeout: Duration, what: &str, e: ShimError) -> PluginError {
    PluginError::new(
        ErrorKind::Other,
        format!(
            "multi-GPU rank {rank} of {world_size}: {what} failed, another rank stopped or did not answer within multi_gpu_timeout ({} s): {}",
            timeout.as_secs_f64(),
            e.message
        ),
    )
}

//! libtorch's c10d collectives: a process group over a TCPStore rendezvous and ProcessGroupGloo
//! (CPU) or ProcessGroupNCCL (CUDA), with every blocking call bounded by a timeout (a dead peer is
//! an error, not a hang).
use super::{check, ShimError, ShimErrorKind};
use std::ffi::{c_char, CString};
use std::ptr::NonNull;
use std::time::Duration;
use tch::{Device, Tensor};
use torch_sys::C_tensor;

/// The opaque C++ group (store + backend).
#[repr(C)]
struct RawGroup {
    _private: [u8; 0],
}

extern "C" {
    fn rlhost_shim_pg_new(
        addr: *const c_char,
        port: u16,
        rank: i32,
        world_size: i32,
        timeout_ms: i64,
        host_store: i32,
        prefix: *const c_char,
        backend: i32,
        cuda_device: i32,
        out: *mut *mut RawGroup,
        err: *mut *mut c_char,
    ) -> i32;
    fn rlhost_shim_pg_free(pg: *mut RawGroup);
    fn rlhost_shim_nccl_built() -> i32;
    fn rlhost_shim_pg_broadcast(pg: *mut RawGroup, t: *const C_tensor, root: i32, err: *mut *mut c_char) -> i32;
    fn rlhost_shim_pg_all_reduce(pg: *mut RawGroup, t: *const C_tensor, op: i32, err: *mut *mut c_char) -> i32;
    fn rlhost_shim_pg_barrier(pg: *mut RawGroup, err: *mut *mut c_char) -> i32;
}

/// How [`ProcessGroup::all_reduce`] combines the ranks' tensors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReduceOp {
    /// The elementwise sum.
    Sum,
    /// The elementwise mean (the sum divided by the world size).
    Avg,
}

/// Which c10d backend carries the collectives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Backend {
    /// ProcessGroupGloo: reduces in host memory; tensors on another device are staged through a
    /// CPU copy.
    #[default]
    Gloo,
    /// ProcessGroupNCCL bound to `cuda:<index>` (torchrun's `LOCAL_RANK`): tensors stay on that GPU.
    Nccl {
        /// The CUDA device index.
        device: u32,
    },
}

/// Whether this build of the shim has the NCCL backend (it found the CUDA and NCCL headers of
/// the torch wheel when it was compiled; build.rs `nccl_includes`).
pub fn nccl_built() -> bool {
    // SAFETY: a constant query without arguments.
    unsafe { rlhost_shim_nccl_built() != 0 }
}

/// Where and how to join a process group: torchrun's `MASTER_ADDR`, `MASTER_PORT`, `RANK`,
/// `WORLD_SIZE`, or the same given explicitly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupOptions {
    /// Rank 0's address, where it hosts the rendezvous store.
    pub master_addr: String,
    /// The store's TCP port.
    pub master_port: u16,
    /// This process's rank, `0..world_size`.
    pub rank: u32,
    /// How many processes form the group.
    pub world_size: u32,
    /// The longest any rendezvous or collective may wait for the other ranks.
    pub timeout: Duration,
    /// Whether rank 0 hosts the store (false when the launcher's agent serves it: torchrun's
    /// `TORCHELASTIC_USE_AGENT_STORE=True`).
    pub rank0_hosts_store: bool,
    /// A prefix for the group's store keys (torchrun: one per restart attempt, so a restarted
    /// group never reads the keys of the attempt before); empty for none.
    pub store_prefix: String,
    /// The backend.
    pub backend: Backend,
}

impl GroupOptions {
    /// Reads `MASTER_ADDR` (default `127.0.0.1`), `MASTER_PORT` (default 29500), `RANK` and
    /// `WORLD_SIZE` (both required), `TORCHELASTIC_USE_AGENT_STORE` and
    /// `TORCHELASTIC_RESTART_COUNT` from the environment, as torchrun sets them.
    pub fn from_env(timeout: Duration) -> Result<Self, ShimError> {
        let var = |name: &str| std::env::var(name).ok();
        let number = |name: &str, default: Option<u64>| -> Result<u64, ShimError> {
            match var(name) {
                Some(v) => v.trim().parse().map_err(|_| ShimError::invalid(format!("{name}={v:?} is not a number"))),
                None => default.ok_or_else(|| ShimError::invalid(format!("{name} is not set (launch with torchrun)"))),
            }
        };
        let port = number("MASTER_PORT", Some(29500))?;
        Ok(GroupOptions {
            master_addr: var("MASTER_ADDR").unwrap_or_else(|| "127.0.0.1".into()),
            master_port: u16::try_from(port).map_err(|_| ShimError::invalid(format!("MASTER_PORT={port} > 65535")))?,
            rank: u32::try_from(number("RANK", None)?).map_err(|_| ShimError::invalid("RANK is too large"))?,
            world_size: u32::try_from(number("WORLD_SIZE", None)?)
                .map_err(|_| ShimError::invalid("WORLD_SIZE is too large"))?,
            timeout,
            rank0_hosts_store: var("TORCHELASTIC_USE_AGENT_STORE").as_deref() != Some("True"),
            store_prefix: format!("rlhost/attempt_{}", number("TORCHELASTIC_RESTART_COUNT", Some(0))?),
            backend: Backend::Gloo,
        })
    }
}

/// A c10d process group on Gloo or NCCL. Collectives must be called in the same order on every
/// rank.
///
/// Gloo reduces in host memory: a tensor on another device is staged through a CPU copy. NCCL
/// reduces on its GPU: a tensor elsewhere is staged through a copy on that GPU.
#[derive(Debug)]
pub struct ProcessGroup {
    raw: NonNull<RawGroup>,
    rank: u32,
    world_size: u32,
    /// Where the backend reads its tensors.
    home: Device,
}

// SAFETY: the C++ group is used from one thread at a time (`&mut self` for every collective);
// c10d's backends may be driven from any thread.
unsafe impl Send for ProcessGroup {}

impl ProcessGroup {
    /// Joins the group: rank 0 hosts a TCPStore at `master_addr:master_port`, every rank
    /// connects to it and the backend connects the ranks (Gloo pairwise, NCCL through its
    /// communicator, set up eagerly). Fails after `options.timeout` if a rank does not arrive, at
    /// once for an NCCL group without its GPU or on a build without NCCL.
    pub fn new(options: &GroupOptions) -> Result<Self, ShimError> {
        let addr = CString::new(options.master_addr.as_str())
            .map_err(|_| ShimError::invalid("MASTER_ADDR contains a NUL byte"))?;
        let prefix = CString::new(options.store_prefix.as_str())
            .map_err(|_| ShimError::invalid("the store prefix contains a NUL byte"))?;
        let to_i32 =
            |v: u32, what: &str| i32::try_from(v).map_err(|_| ShimError::invalid(format!("{what} {v} too large")));
        let timeout_ms = i64::try_from(options.timeout.as_millis()).unwrap_or(i64::MAX);
        let (backend, cuda_device, home) = match options.backend {
            Backend::Gloo => (0, -1, Device::Cpu),
            Backend::Nccl { device } => {
                let index = usize::try_from(device).map_err(|_| ShimError::invalid("CUDA device index too large"))?;
                (1, to_i32(device, "CUDA device index")?, Device::Cuda(index))
            }
        };
        let mut raw: *mut RawGroup = std::ptr::null_mut();
        let mut err: *mut c_char = std::ptr::null_mut();
        // SAFETY: `addr` and `prefix` are NUL-terminated for the call; `raw` receives a heap
        // group on success.
        let rc = unsafe {
            rlhost_shim_pg_new(
                addr.as_ptr(),
                options.master_port,
                to_i32(options.rank, "rank")?,
                to_i32(options.world_size, "world size")?,
                timeout_ms,
                i32::from(options.rank0_hosts_store),
                prefix.as_ptr(),
                backend,
                cuda_device,
                &mut raw,
                &mut err,
            )
        };
        check(rc, err)?;
        let raw = NonNull::new(raw)
            .ok_or_else(|| ShimError { kind: ShimErrorKind::Unknown, message: "no process group returned".into() })?;
        Ok(ProcessGroup { raw, rank: options.rank, world_size: options.world_size, home })
    }

    /// Joins the group torchrun's environment variables describe ([`GroupOptions::from_env`]).
    pub fn from_env(timeout: Duration) -> Result<Self, ShimError> {
        Self::new(&GroupOptions::from_env(timeout)?)
    }

    /// This process's rank.
    pub fn rank(&self) -> u32 {
        self.rank
    }

    /// How many processes the group has.
    pub fn world_size(&self) -> u32 {
        self.world_size
    }

    /// Overwrites `tensor` with rank `root`'s on every rank.
    pub fn broadcast(&mut self, tensor: &mut Tensor, root: u32) -> Result<(), ShimError> {
        let root = i32::try_from(root).map_err(|_| ShimError::invalid("broadcast root too large"))?;
        // SAFETY: `self.raw` is a live group and the tensor pointer a live `at::Tensor*` for the call.
        self.at_home(tensor, |raw, t, err| unsafe { rlhost_shim_pg_broadcast(raw, t, root, err) })
    }

    /// Overwrites `tensor` with the sum or mean of every rank's `tensor`.
    pub fn all_reduce(&mut self, tensor: &mut Tensor, op: ReduceOp) -> Result<(), ShimError> {
        let op = match op {
            ReduceOp::Sum => 0,
            ReduceOp::Avg => 1,
        };
        // SAFETY: as in `broadcast`.
        self.at_home(tensor, |raw, t, err| unsafe { rlhost_shim_pg_all_reduce(raw, t, op, err) })
    }

    /// Returns once every rank has called it.
    pub fn barrier(&mut self) -> Result<(), ShimError> {
        let mut err: *mut c_char = std::ptr::null_mut();
        // SAFETY: `self.raw` is a live group.
        let rc = unsafe { rlhost_shim_pg_barrier(self.raw.as_ptr(), &mut err) };
        check(rc, err)
    }

    /// Runs a collective on a contiguous tensor on the backend's device holding `tensor`'s
    /// values, then writes the result back into `tensor` when that was a copy.
    fn at_home(
        &mut self,
        tensor: &mut Tensor,
        call: impl FnOnce(*mut RawGroup, *const C_tensor, *mut *mut c_char) -> i32,
    ) -> Result<(), ShimError> {
        if !tensor.defined() {
            return Err(ShimError::invalid("collective on an undefined tensor"));
        }
        let in_place = tensor.device() == self.home && tensor.is_contiguous();
        let host = if in_place { tensor.shallow_clone() } else { tensor.to_device(self.home).contiguous() };
        let mut err: *mut c_char = std::ptr::null_mut();
        let rc = call(self.raw.as_ptr(), host.as_ptr(), &mut err);
        check(rc, err)?;
        if !in_place {
            tch::no_grad(|| tensor.copy_(&host));
        }
        Ok(())
    }
}

impl Drop for ProcessGroup {
    fn drop(&mut self) {
        // SAFETY: `raw` came from `rlhost_shim_pg_new` and is freed once.
        unsafe { rlhost_shim_pg_free(self.raw.as_ptr()) };
    }
}

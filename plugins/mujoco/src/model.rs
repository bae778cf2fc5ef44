//! Safe owners of a MuJoCo model (shared, read-only) and of one simulation's data.
//!
//! A [`Model`] is immutable once loaded, so one is shared by every environment of a batch and
//! read from several threads at once (MuJoCo's `mj_step` takes it as `const`). Each [`Sim`]
//! owns its `mjData` and is moved between threads but never shared.
use crate::ffi::{self, mjData, mjModel, DataPtrs, ModelInfo};
use rlhost_sdk::{ErrorKind, PluginError};
use std::ffi::{c_char, CStr, CString};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A compiled MuJoCo model.
#[derive(Debug)]
pub struct Model {
    ptr: *mut mjModel,
    info: ModelInfo,
    path: PathBuf,
}

// SAFETY: the model is never written after `mj_loadXML`; MuJoCo reads it concurrently from
// `mj_step` calls on distinct `mjData`.
unsafe impl Send for Model {}
// SAFETY: as above, every access through `&Model` is a read.
unsafe impl Sync for Model {}

fn mujoco_error(message: String) -> PluginError {
    PluginError::new(ErrorKind::NotFound, message)
}

/// Fails unless the loaded libmujoco is the release whose headers `shim.c` was compiled with.
pub fn check_library_version() -> Result<(), PluginError> {
    // SAFETY: both functions only return constants.
    let (library, headers) = unsafe { (ffi::mj_version(), ffi::rlhost_mj_header_version()) };
    if library != headers {
        return Err(PluginError::new(
            ErrorKind::Unsupported,
            format!("libmujoco is version {library} but the plugin was built against headers {headers}: rebuild it"),
        ));
    }
    Ok(())
}

/// MuJoCo's fatal errors (its default handler prints and ends the process) become Rust panics,
/// which unwind through libmujoco (built with unwind tables, as the Python bindings' exceptions
/// need) to the SDK's guard around every plugin call: the host gets one error, not an exit.
unsafe extern "C-unwind" fn error_to_panic(message: *const c_char) {
    // SAFETY: MuJoCo passes a NUL-terminated message.
    let text = unsafe { CStr::from_ptr(message) }.to_string_lossy().trim().to_string();
    panic!("MuJoCo error: {text}");
}

/// Installs the plugin's MuJoCo error and warning handlers (process-wide; idempotent).
pub fn install_handlers() {
    // SAFETY: plain stores of function pointers that live as long as the library; MuJoCo reads
    // them only when it raises an error or a warning.
    unsafe {
        ffi::mju_user_error = Some(error_to_panic);
        ffi::rlhost_mj_route_warnings_to_stderr();
    }
}

impl Model {
    /// Loads and compiles an MJCF file.
    pub fn load(path: &Path) -> Result<Arc<Self>, PluginError> {
        check_library_version()?;
        install_handlers();
        if !path.is_file() {
            return Err(mujoco_error(format!("MuJoCo model {} does not exist", path.display())));
        }
        let c_path = CString::new(path.as_os_str().as_encoded_bytes())
            .map_err(|_| mujoco_error(format!("MuJoCo model path {} contains a NUL byte", path.display())))?;
        let mut error = [0 as c_char; 1000];
        // SAFETY: valid NUL-terminated path, a null VFS, and an error buffer of the stated size.
        let ptr = unsafe { ffi::mj_loadXML(c_path.as_ptr(), std::ptr::null(), error.as_mut_ptr(), error.len() as i32) };
        if ptr.is_null() {
            // SAFETY: MuJoCo NUL-terminates the message within the buffer.
            let reason = unsafe { CStr::from_ptr(error.as_ptr()) }.to_string_lossy().trim().replace('\n', " ");
            return Err(mujoco_error(format!("MuJoCo could not load {}: {reason}", path.display())));
        }
        let mut info = std::mem::MaybeUninit::<ModelInfo>::uninit();
        // SAFETY: `ptr` is a live model; the shim writes every field.
        let info = unsafe {
            ffi::rlhost_mj_model_info_of(ptr, info.as_mut_ptr());
            info.assume_init()
        };
        Ok(Arc::new(Model { ptr, info, path: path.to_path_buf() }))
    }

    /// The file it was loaded from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Number of generalised coordinates (qpos entries).
    pub fn nq(&self) -> usize {
        self.info.nq as usize
    }

    /// Number of degrees of freedom (qvel entries).
    pub fn nv(&self) -> usize {
        self.info.nv as usize
    }

    /// Number of actuators (action entries).
    pub fn nu(&self) -> usize {
        self.info.nu as usize
    }

    /// Number of bodies, the world body 0 included.
    pub fn nbody(&self) -> usize {
        self.info.nbody as usize
    }

    /// The physics time step in seconds.
    pub fn timestep(&self) -> f64 {
        self.info.timestep
    }

    /// The reference configuration, what `mj_resetData` puts in qpos.
    pub fn qpos0(&self) -> &[f64] {
        // SAFETY: nq doubles owned by the live model.
        unsafe { std::slice::from_raw_parts(self.info.qpos0, self.nq()) }
    }

    /// (nu, 2) control ranges, row-major.
    pub fn ctrl_range(&self) -> &[f64] {
        // SAFETY: 2 nu doubles owned by the live model.
        unsafe { std::slice::from_raw_parts(self.info.actuator_ctrlrange, 2 * self.nu()) }
    }

    /// Body masses (nbody).
    pub fn body_mass(&self) -> &[f64] {
        // SAFETY: nbody doubles owned by the live model.
        unsafe { std::slice::from_raw_parts(self.info.body_mass, self.nbody()) }
    }

    /// The id of the body called `name`.
    pub fn body_id(&self, name: &str) -> Option<usize> {
        let name = CString::new(name).ok()?;
        // SAFETY: live model and a NUL-terminated name.
        let id = unsafe { ffi::mj_name2id(self.ptr, ffi::MJ_OBJ_BODY, name.as_ptr()) };
        (id >= 0).then_some(id as usize)
    }
}

impl Drop for Model {
    fn drop(&mut self) {
        // SAFETY: every `Sim` holds an `Arc<Model>`, so no data outlives the model.
        unsafe { ffi::mj_deleteModel(self.ptr) }
    }
}

/// One simulation: an `mjData` of a shared [`Model`].
#[derive(Debug)]
pub struct Sim {
    model: Arc<Model>,
    data: *mut mjData,
    ptrs: DataPtrs,
}

// SAFETY: the data is owned by this value alone; moving it to another thread is fine.
unsafe impl Send for Sim {}

impl Sim {
    /// Allocates data for `model`, in the model's reference state.
    pub fn new(model: Arc<Model>) -> Result<Self, PluginError> {
        // SAFETY: live model.
        let data = unsafe { ffi::mj_makeData(model.ptr) };
        if data.is_null() {
            return Err(PluginError::new(
                ErrorKind::Env,
                format!("MuJoCo could not allocate data for {}", model.path.display()),
            ));
        }
        let mut ptrs = std::mem::MaybeUninit::<DataPtrs>::uninit();
        // SAFETY: live data; the shim writes every field.
        let ptrs = unsafe {
            ffi::rlhost_mj_data_ptrs_of(data, ptrs.as_mut_ptr());
            ptrs.assume_init()
        };
        Ok(Sim { model, data, ptrs })
    }

    /// The model it simulates.
    pub fn model(&self) -> &Model {
        &self.model
    }

    fn slice(&self, ptr: *const f64, len: usize) -> &[f64] {
        // SAFETY: `ptr` is one of `ptrs`, an array of `len` doubles in the data's arena.
        unsafe { std::slice::from_raw_parts(ptr, len) }
    }

    /// Positions (nq).
    pub fn qpos(&self) -> &[f64] {
        self.slice(self.ptrs.qpos, self.model.nq())
    }

    /// Velocities (nv).
    pub fn qvel(&self) -> &[f64] {
        self.slice(self.ptrs.qvel, self.model.nv())
    }

    /// Controls (nu), as last set.
    pub fn ctrl(&self) -> &[f64] {
        self.slice(self.ptrs.ctrl, self.model.nu())
    }

    /// The frame position of body `id`.
    pub fn xpos(&self, id: usize) -> &[f64] {
        &self.slice(self.ptrs.xpos, 3 * self.model.nbody())[3 * id..3 * id + 3]
    }

    /// Centre-of-mass positions of every body, (nbody, 3) row-major.
    pub fn xipos(&self) -> &[f64] {
        self.slice(self.ptrs.xipos, 3 * self.model.nbody())
    }

    /// Com-based inertias, (nbody, 10) row-major.
    pub fn cinert(&self) -> &[f64] {
        self.slice(self.ptrs.cinert, 10 * self.model.nbody())
    }

    /// Com-based velocities, (nbody, 6) row-major.
    pub fn cvel(&self) -> &[f64] {
        self.slice(self.ptrs.cvel, 6 * self.model.nbody())
    }

    /// External (contact) forces on each body, (nbody, 6) row-major.
    pub fn cfrc_ext(&self) -> &[f64] {
        self.slice(self.ptrs.cfrc_ext, 6 * self.model.nbody())
    }

    /// Actuator forces in joint space (nv).
    pub fn qfrc_actuator(&self) -> &[f64] {
        self.slice(self.ptrs.qfrc_actuator, self.model.nv())
    }

    /// Gymnasium's `reset` + `set_state`: `mj_resetData`, then `qpos`, `qvel`, then `mj_forward`.
    pub fn reset_to(&mut self, qpos: &[f64], qvel: &[f64]) {
        assert_eq!((qpos.len(), qvel.len()), (self.model.nq(), self.model.nv()), "state size");
        // SAFETY: live model and data; the copies stay within qpos (nq) and qvel (nv).
        unsafe {
            ffi::mj_resetData(self.model.ptr, self.data);
            std::ptr::copy_nonoverlapping(qpos.as_ptr(), self.ptrs.qpos, qpos.len());
            std::ptr::copy_nonoverlapping(qvel.as_ptr(), self.ptrs.qvel, qvel.len());
            ffi::mj_forward(self.model.ptr, self.data);
        }
    }

    /// Gymnasium's `do_simulation`: sets the controls, runs `frames` physics steps, then
    /// `mj_rnePostConstraint` (which fills `cfrc_ext`).
    pub fn simulate(&mut self, action: &[f32], frames: u32) {
        self.set_ctrl(action);
        self.step_physics(frames);
        // SAFETY: live model and data.
        unsafe { ffi::mj_rnePostConstraint(self.model.ptr, self.data) };
    }

    /// Sets the controls (`data.ctrl[:] = action`, float32 widened to float64).
    pub fn set_ctrl(&mut self, action: &[f32]) {
        assert_eq!(action.len(), self.model.nu(), "action size");
        // SAFETY: ctrl has nu entries of the live data, which `&mut self` owns.
        let ctrl = unsafe { std::slice::from_raw_parts_mut(self.ptrs.ctrl, action.len()) };
        for (c, &a) in ctrl.iter_mut().zip(action) {
            *c = f64::from(a);
        }
    }

    /// `frames` calls of `mj_step` and nothing else (the benchmark's limit).
    pub fn step_physics(&mut self, frames: u32) {
        for _ in 0..frames {
            // SAFETY: live model and data.
            unsafe { ffi::mj_step(self.model.ptr, self.data) };
        }
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        // SAFETY: the data was made by `mj_makeData` and is freed once.
        unsafe { ffi::mj_deleteData(self.data) }
    }
}

//! The MuJoCo C functions the plugin calls, declared by hand, and the field accessors of
//! `shim.c` (compiled against the wheel's headers, so no struct layout is copied here).
//! Declared as they are in `mujoco.h` 3.17.0.
#![allow(non_camel_case_types)]
use std::ffi::{c_char, c_int};

/// MuJoCo's `mjModel` (opaque: fields are read through [`rlhost_mj_model_info_of`]).
#[repr(C)]
pub struct mjModel {
    _opaque: [u8; 0],
}

/// MuJoCo's `mjData` (opaque: fields are reached through [`rlhost_mj_data_ptrs_of`]).
#[repr(C)]
pub struct mjData {
    _opaque: [u8; 0],
}

/// The sizes and model arrays the tasks read.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct ModelInfo {
    /// Number of generalised coordinates.
    pub nq: c_int,
    /// Number of degrees of freedom.
    pub nv: c_int,
    /// Number of actuators.
    pub nu: c_int,
    /// Number of activation states.
    pub na: c_int,
    /// Number of bodies, the world body included.
    pub nbody: c_int,
    /// The physics time step, seconds.
    pub timestep: f64,
    /// (nq) the reference configuration.
    pub qpos0: *const f64,
    /// (nu, 2) actuator control ranges.
    pub actuator_ctrlrange: *const f64,
    /// (nbody) body masses.
    pub body_mass: *const f64,
}

/// Pointers into one `mjData`'s arena; fixed for the data's lifetime.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct DataPtrs {
    /// (nq) positions.
    pub qpos: *mut f64,
    /// (nv) velocities.
    pub qvel: *mut f64,
    /// (nu) controls.
    pub ctrl: *mut f64,
    /// (na) actuator activations.
    pub act: *mut f64,
    /// (nbody, 3) body frame positions.
    pub xpos: *mut f64,
    /// (nbody, 3) body centre-of-mass positions.
    pub xipos: *mut f64,
    /// (nbody, 10) body inertias in the centre-of-mass frame.
    pub cinert: *mut f64,
    /// (nbody, 6) body velocities in the centre-of-mass frame.
    pub cvel: *mut f64,
    /// (nbody, 6) external contact forces on each body.
    pub cfrc_ext: *mut f64,
    /// (nv) actuator forces.
    pub qfrc_actuator: *mut f64,
}

// "C-unwind": MuJoCo's error handler ([`crate::model::install_handlers`]) panics, and the
// panic unwinds out of these calls; with plain "C" Rust would assume they cannot unwind.
extern "C-unwind" {
    /// Parses an MJCF file; null on failure with the reason in `error`.
    pub fn mj_loadXML(filename: *const c_char, vfs: *const u8, error: *mut c_char, error_sz: c_int) -> *mut mjModel;
    /// Frees a model.
    pub fn mj_deleteModel(m: *mut mjModel);
    /// Allocates the simulation data of a model.
    pub fn mj_makeData(m: *const mjModel) -> *mut mjData;
    /// Frees simulation data.
    pub fn mj_deleteData(d: *mut mjData);
    /// Resets data to the model's defaults (qpos0, zero velocities and controls).
    pub fn mj_resetData(m: *const mjModel, d: *mut mjData);
    /// Advances the simulation by one time step.
    pub fn mj_step(m: *const mjModel, d: *mut mjData);
    /// Forward dynamics without integration.
    pub fn mj_forward(m: *const mjModel, d: *mut mjData);
    /// Computes `cacc`, `cfrc_int` and `cfrc_ext` after the constraint solver.
    pub fn mj_rnePostConstraint(m: *const mjModel, d: *mut mjData);
    /// The id of a named object of `type_` (1 = body), or -1.
    pub fn mj_name2id(m: *const mjModel, type_: c_int, name: *const c_char) -> c_int;
    /// The library's version (3.17.0 is 3017000, as `mjVERSION_HEADER`).
    pub fn mj_version() -> c_int;
    /// The version of the headers `shim.c` was compiled against.
    pub fn rlhost_mj_header_version() -> c_int;
    /// MuJoCo's error handler (null: print and `exit`); it must not return.
    pub static mut mju_user_error: Option<unsafe extern "C-unwind" fn(*const c_char)>;
    /// Raises a MuJoCo error (printf-style).
    pub fn mju_error(msg: *const c_char, ...);
    /// Sends MuJoCo's warnings to stderr instead of stdout and `MUJOCO_LOG.TXT`.
    pub fn rlhost_mj_route_warnings_to_stderr();
    /// Fills `out` from `m`.
    pub fn rlhost_mj_model_info_of(m: *const mjModel, out: *mut ModelInfo);
    /// Fills `out` from `d`.
    pub fn rlhost_mj_data_ptrs_of(d: *mut mjData, out: *mut DataPtrs);
}

/// `mjOBJ_BODY` of `mjtObj`.
pub const MJ_OBJ_BODY: c_int = 1;

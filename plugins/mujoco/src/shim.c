// Field access for the few mjModel / mjData members the tasks read. The structs are large and
// change between MuJoCo releases; compiling this file against the wheel's own headers keeps the
// Rust side free of hand-copied struct layouts.
#include <mujoco/mujoco.h>

typedef struct {
  int nq, nv, nu, na, nbody;
  double timestep;
  const double* qpos0;
  const double* actuator_ctrlrange;
  const double* body_mass;
} rlhost_mj_model_info;

typedef struct {
  double *qpos, *qvel, *ctrl, *act;
  double *xpos, *xipos, *cinert, *cvel, *cfrc_ext, *qfrc_actuator;
} rlhost_mj_data_ptrs;

int rlhost_mj_header_version(void) { return mjVERSION_HEADER; }

void rlhost_mj_model_info_of(const mjModel* m, rlhost_mj_model_info* out) {
  out->nq = m->nq;
  out->nv = m->nv;
  out->nu = m->nu;
  out->na = m->na;
  out->nbody = m->nbody;
  out->timestep = m->opt.timestep;
  out->qpos0 = m->qpos0;
  out->actuator_ctrlrange = m->actuator_ctrlrange;
  out->body_mass = m->body_mass;
}

void rlhost_mj_data_ptrs_of(mjData* d, rlhost_mj_data_ptrs* out) {
  out->qpos = d->qpos;
  out->qvel = d->qvel;
  out->ctrl = d->ctrl;
  out->act = d->act;
  out->xpos = d->xpos;
  out->xipos = d->xipos;
  out->cinert = d->cinert;
  out->cvel = d->cvel;
  out->cfrc_ext = d->cfrc_ext;
  out->qfrc_actuator = d->qfrc_actuator;
}

#include <stdio.h>

// MuJoCo's default warning handler prints to stdout and appends to MUJOCO_LOG.TXT in the
// working directory; a plugin should leave both alone, so warnings go to stderr instead.
static void rlhost_mj_warning_to_stderr(const char* message) {
  fprintf(stderr, "MuJoCo warning: %s\n", message);
}

void rlhost_mj_route_warnings_to_stderr(void) { mju_user_warning = rlhost_mj_warning_to_stderr; }

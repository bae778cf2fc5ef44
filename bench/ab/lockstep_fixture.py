#!/usr/bin/env python3
"""Writes the lock-step fixtures of plugins/a2c_continuous/tests/lockstep_as_rl_games.rs: rl_games
1.6.5 trained on each case of bench/ab/lockstep_cases.json (a shipped config, made small, with the
case's changes; seed 42; the torch twin of rlhost's env with `rng: rlhost`, so both programs see
the same initial states and staggered offsets), one process per case. Each
`tests/fixtures/lockstep/<case>.npz` holds, in rlhost's checkpoint names (`CHECKPOINT.md`):

  params_json            the `params` rlhost is given (uint8 bytes of its JSON), before the
                         run-time settings only rl_games needs (torch_compile off, run folder,
                         the twin's device and rng)
  init.<key>             the model's state dict at construction (before the first rollout)
  epoch<E>.<key>         after epoch E (each of the case's `dump_epochs`, else 1..epochs): the model's state dict (weights, obs and value
                         normalisers), `optimizer.state.<param>.{exp_avg,exp_avg_sq}`,
                         `optimizer.step`, `lr` (rl_games' last_lr); with a central value also
                         `assymetric_vf_nets.<key>`, `assymetric_vf_optimizer.*` and `cv_lr`;
                         `env_terminations`, `env_time_outs` (totals so far, from the twin)
  scalar.<tag>           per epoch, what rl_games wrote to TensorBoard under `losses/*`,
                         `info/kl` and `info/last_lr`

    ~/.cache/rlhost/venv-rlgames-1.6.5/bin/python bench/ab/lockstep_fixture.py [CASE ...]   (default: all)
"""
import argparse
import copy
import json
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
from fixture_out import out_path
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.dirname(HERE))
import rl_games_pendulum as rgp  # noqa: E402  (env registration and the run-time patches)

CASES = os.path.join(HERE, "lockstep_cases.json")
SEED = 42


def merge(into, changes):
    """Deep-merges `changes` into the dict `into` (dicts recursively, anything else replaces)."""
    for k, v in changes.items():
        if isinstance(v, dict) and isinstance(into.get(k), dict):
            merge(into[k], v)
        else:
            into[k] = copy.deepcopy(v)
    return into


def case_params(name):
    """The `params` of case `name` as rlhost is given them (`max_epochs` is the case's `epochs`)."""
    spec = json.load(open(CASES))
    case = spec["cases"][name]
    with open(os.path.join(ROOT, case["config"])) as f:
        params = yaml.safe_load(f)["params"]
    if case.get("small", True):
        merge(params, spec["small"])
    merge(params, case["set"])
    params["seed"] = SEED
    params["config"]["max_epochs"] = case["epochs"]
    return params


def np_(t):
    return t.detach().cpu().numpy().copy()


def adam_state(keep, prefix, module, optimizer, param_prefix=""):
    """`<prefix>.state.<param>.{exp_avg,exp_avg_sq}` and `<prefix>.step`, as rlhost names them."""
    names = {id(p): n for n, p in module.named_parameters()}
    step = 0.0
    for group in optimizer.param_groups:
        for p in group["params"]:
            st = optimizer.state.get(p, {})
            if "exp_avg" in st:
                keep[f"{prefix}.state.{param_prefix}{names[id(p)]}.exp_avg"] = np_(st["exp_avg"])
                keep[f"{prefix}.state.{param_prefix}{names[id(p)]}.exp_avg_sq"] = np_(st["exp_avg_sq"])
                step = float(st["step"])
    keep[f"{prefix}.step"] = np.array([step], dtype=np.float64)


def dump_epochs(name):
    """The epochs whose state the fixture keeps: the case's `dump_epochs`, else all."""
    case = json.load(open(CASES))["cases"][name]
    return set(case.get("dump_epochs", range(1, case["epochs"] + 1)))


def run_case(name, out):
    params = case_params(name)
    dumped = dump_epochs(name)
    keep = {"params_json": np.frombuffer(json.dumps(params).encode(), dtype=np.uint8).copy()}
    rl_params = copy.deepcopy(params)
    config = rl_params["config"]
    tmp = tempfile.mkdtemp(prefix=f"lockstep_{name}_")
    config.update(torch_compile=False, full_experiment_name=name, train_dir=tmp)
    config["env_config"] = dict(config.get("env_config") or {}, device=config.get("device", "cpu"), rng="rlhost")
    config.pop("player", None)

    rgp.apply_runtime_patches()
    from rl_games.algos_torch import a2c_continuous
    from rl_games.torch_runner import Runner

    A = a2c_continuous.A2CAgent
    scalars = {}

    def record_scalars(writer):
        add = writer.add_scalar

        def add_scalar(tag, value, step=None, *args, **kwargs):
            if tag.startswith("losses/") or tag in ("info/kl", "info/last_lr"):
                scalars.setdefault(tag, []).append(float(value))
            return add(tag, value, step, *args, **kwargs)

        writer.add_scalar = add_scalar

    def dump_state(agent, prefix):
        for k, v in agent.model.state_dict().items():
            keep[f"{prefix}.{k}"] = np_(v)
        if prefix == "init":
            return
        adam_state(keep, f"{prefix}.optimizer", agent.model, agent.optimizer)
        keep[f"{prefix}.lr"] = np.array([agent.last_lr], dtype=np.float64)
        if agent.has_central_value:
            cv = agent.central_value_net
            for k, v in cv.state_dict().items():
                keep[f"{prefix}.assymetric_vf_nets.{k}"] = np_(v)
            adam_state(keep, f"{prefix}.assymetric_vf_optimizer", cv.model, cv.optimizer, "model.")
            keep[f"{prefix}.cv_lr"] = np.array([cv.lr], dtype=np.float64)
        keep[f"{prefix}.env_terminations"] = np.array([int(agent.vec_env.terminations)], dtype=np.int64)
        keep[f"{prefix}.env_time_outs"] = np.array([int(agent.vec_env.time_outs)], dtype=np.int64)

    orig_train_epoch = A.train_epoch

    def train_epoch(self):
        if self.epoch_num == 1:
            dump_state(self, "init")
            record_scalars(self.writer)
        res = orig_train_epoch(self)
        if self.epoch_num in dumped:
            dump_state(self, f"epoch{self.epoch_num}")
        return res

    A.train_epoch = train_epoch
    rgp.register_env(config["env_name"])
    runner = Runner()
    runner.load({"params": rl_params})
    runner.run({"train": True, "play": False, "checkpoint": None, "sigma": None})
    shutil.rmtree(tmp, ignore_errors=True)  # rl_games' run folder: checkpoints and TensorBoard files
    for tag, values in scalars.items():
        keep[f"scalar.{tag}"] = np.array(values, dtype=np.float64)
    os.makedirs(os.path.dirname(out), exist_ok=True)
    np.savez(out, **keep)
    epochs = max(dumped)
    print(f"wrote {os.path.relpath(out, ROOT)} ({len(keep)} arrays, {os.path.getsize(out) // 1024} KB; "
          f"{int(keep[f'epoch{epochs}.env_terminations'][0])} terminations, "
          f"{int(keep[f'epoch{epochs}.env_time_outs'][0])} time-outs)", file=sys.stderr, flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("cases", nargs="*", help="case names of lockstep_cases.json (default: all)")
    ap.add_argument("--out-dir", default=os.path.dirname(out_path("plugins/a2c_continuous/tests/fixtures/lockstep/x")))
    ap.add_argument("--in-process", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    names = args.cases or list(json.load(open(CASES))["cases"])
    if args.in_process:
        (name,) = names
        run_case(name, os.path.join(args.out_dir, f"{name}.npz"))
        return
    for name in names:  # one process per case: rl_games and torch keep global state
        # rl_games' console lines are dropped; the child's summary line comes on stderr.
        subprocess.run([sys.executable, os.path.abspath(__file__), "--in-process", "--out-dir", args.out_dir, name],
                       check=True, stdout=subprocess.DEVNULL)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Checks bench/torch_pendulum.py against Gymnasium's Pendulum-v1 (tolerance 1e-5).

1. The committed reference trajectories (plugins/classic_control/reference/Pendulum-v1.json,
   recorded with gymnasium.make("Pendulum-v1")): from each recorded state and action, the batched
   step must give the recorded next state, observation and reward, and the 200-step time limit
   must flag the recorded truncations.
2. If gymnasium is importable (it is in the rl_games venv): live lock-step against 64
   gymnasium envs from the same states with random actions (beyond +-2, to exercise clipping),
   for 400 steps.
3. The vec-env contract: same-step auto-reset, `time_outs`, staggered first-episode lengths,
   and the episodes.csv rows (frame, env, return, length, first_episode).
4. The `rng: rlhost` option: its tensor SplitMix64 draws equal a pure-Python twin of rlhost's
   scalar reference (rng.rs `draw_bits_u64`).

Run: ~/.cache/rlhost/venv-rlgames-1.6.5/bin/python bench/check_pendulum.py
"""
import csv
import json
import os
import sys
import tempfile

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import torch_pendulum as tp  # noqa: E402

TOL = 1e-5
REF = os.path.join(HERE, "..", "plugins", "classic_control", "reference", "Pendulum-v1.json")
failures = []


def check(name, got, want, tol=TOL):
    err = float(np.max(np.abs(np.asarray(got, dtype=np.float64) - np.asarray(want, dtype=np.float64))))
    ok = err <= tol
    print(f"  {'ok  ' if ok else 'FAIL'} {name}: max |diff| = {err:.3g}")
    if not ok:
        failures.append(name)


def reference_json():
    print(f"1. reference trajectories {os.path.relpath(REF, os.getcwd())}")
    d = json.load(open(REF))
    states = torch.tensor(d["states"], dtype=torch.float64)
    actions = torch.tensor(d["actions"], dtype=torch.float32)
    nxt, rew = tp.pendulum_step(states, actions)
    check("next_states", nxt.numpy(), d["next_states"])
    check("next_obs", tp.observe(nxt).numpy(), d["next_obs"])
    check("rewards", rew.numpy(), d["rewards"])
    trunc = (np.asarray(d["elapsed"]) + 1) >= tp.MAX_EPISODE_STEPS
    same = np.array_equal(trunc, np.asarray(d["truncated"], dtype=bool)) and not any(d["terminated"])
    print(f"  {'ok  ' if same else 'FAIL'} truncation at 200 steps, never terminated ({len(trunc)} rows)")
    if not same:
        failures.append("truncation")


def live_gymnasium():
    try:
        import gymnasium as gym
    except ImportError:
        print("2. gymnasium not importable here: live check skipped")
        return
    print(f"2. live lock-step with gymnasium {gym.__version__} Pendulum-v1 (64 envs x 400 steps)")
    k, steps = 64, 400
    envs = [gym.make("Pendulum-v1") for _ in range(k)]
    for i, e in enumerate(envs):
        e.reset(seed=1000 + i)
    state = torch.tensor(np.stack([e.unwrapped.state for e in envs]), dtype=torch.float64)
    rng = np.random.default_rng(7)
    max_s = max_o = max_r = 0.0
    trunc_ok = True
    for t in range(steps):
        a = rng.uniform(-3.0, 3.0, size=(k, 1)).astype(np.float32)
        nxt, rew = tp.pendulum_step(state, torch.from_numpy(a))
        obs = tp.observe(nxt).numpy()
        for i, e in enumerate(envs):
            o, r, term, trunc, _ = e.step(a[i])
            max_o = max(max_o, float(np.max(np.abs(o - obs[i]))))
            max_r = max(max_r, abs(float(r) - float(rew[i])))
            max_s = max(max_s, float(np.max(np.abs(e.unwrapped.state - nxt[i].numpy()))))
            trunc_ok &= (not term) and (trunc == ((t % 200) == 199))
            if trunc:  # restart both from gymnasium's new initial state
                e.reset(seed=5000 + 1000 * t + i)
                nxt[i] = torch.tensor(e.unwrapped.state, dtype=torch.float64)
        state = nxt
    check("state", [max_s], [0.0])
    check("obs", [max_o], [0.0])
    check("reward", [max_r], [0.0])
    print(f"  {'ok  ' if trunc_ok else 'FAIL'} TimeLimit truncation every 200 steps")
    if not trunc_ok:
        failures.append("gymnasium truncation")


def vec_env_contract():
    print("3. vec-env contract (same-step auto-reset, time_outs, staggered starts, episodes.csv)")
    n = 256
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "episodes.csv")
        env = tp.TorchPendulum("Pendulum-v1", n, seed=3, init_at_random_ep_len=True, episodes_csv=path)
        obs = env.reset()
        start = env.elapsed.clone()
        ok = obs.shape == (n, 3) and obs.dtype == torch.float32 and bool((start >= 0).all() and (start < 200).all())
        ok &= len(torch.unique(start)) > 100  # spread over the episode
        steps = 450
        returns = torch.zeros(n, dtype=torch.float32)
        expected = []  # (frame, env, return, length, first)
        length = torch.zeros(n, dtype=torch.int64)
        first = torch.ones(n, dtype=torch.bool)
        for t in range(1, steps + 1):
            a = torch.rand((n, 1)) * 4 - 2
            state_before = env.state.clone()
            obs, rew, dones, infos = env.step(a)
            nxt, r = tp.pendulum_step(state_before, a)
            returns += r.float()
            length += 1
            d = dones.bool()
            ok &= bool(torch.equal(d, infos["time_outs"])) and dones.dtype == torch.uint8
            # not-done envs: obs of the stepped state; done envs: a fresh initial state (same step)
            ok &= bool(torch.allclose(obs[~d], tp.observe(nxt)[~d]))
            if d.any():
                fresh = env.state[d]
                ok &= bool((fresh[:, 0].abs() <= np.pi).all() and (fresh[:, 1].abs() <= 1.0).all())
                ok &= bool(torch.allclose(obs[d], tp.observe(fresh)))
            for e in d.nonzero().squeeze(1).tolist():
                expected.append((t * n, e, float(returns[e]), int(length[e]), int(first[e])))
                returns[e] = 0
                length[e] = 0
                first[e] = False
        env.close()
        # first episodes last 200 - start steps, later ones 200
        firsts = {e: l for (_, e, _, l, f) in expected if f}
        ok &= all(firsts[e] == 200 - int(start[e]) for e in range(n))
        ok &= all(l == 200 for (_, _, _, l, f) in expected if not f)
        rows = list(csv.DictReader(open(path)))
        ok &= len(rows) == len(expected)
        max_ret = 0.0
        for row, (fr, e, r, l, f) in zip(rows, expected):
            ok &= (int(row["frame"]), int(row["env"]), int(row["length"]), int(row["first_episode"])) == (fr, e, l, f)
            max_ret = max(max_ret, abs(float(row["return"]) - r))
        ok &= max_ret <= 1e-3
    print(f"  {'ok  ' if ok else 'FAIL'} {len(expected)} episodes over {steps} steps of {n} envs; "
          f"csv rows match (max return diff {max_ret:.2g})")
    if not ok:
        failures.append("vec-env contract")


def rlhost_rng():
    """The `rng: rlhost` option: the tensor SplitMix64 draws against a pure-Python twin of
    rng.rs's scalar `draw_bits_u64` (u64 arithmetic with Python ints)."""
    print("4. rng: rlhost (counter-based draws of plugins/classic_control/src/rng.rs)")
    m64 = (1 << 64) - 1

    def mix(z):
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & m64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & m64
        return z ^ (z >> 31)

    def draw_bits(seed_plus_i, counter, stream, column):
        key = mix(seed_plus_i & m64)
        episode = mix(key ^ mix((counter + stream * 0x9E3779B97F4A7C15) & m64))
        return mix((episode + (column + 1) * 0x9E3779B97F4A7C15) & m64)

    ok = True
    for seed in (0, 42, 2**40 + 3):
        n, counters = 5, [0, 1, 7, 2, 123456]
        keys = tp._mix(torch.arange(n, dtype=torch.int64) + seed)
        for stream in (0, 1):
            u = tp.rlhost_uniform(keys, torch.tensor(counters), stream, 3)
            for i in range(n):
                for c in range(3):
                    want = (draw_bits(seed + i, counters[i], stream, c) >> 11) / float(1 << 53)
                    ok &= float(u[i, c]) == want
    print(f"  {'ok  ' if ok else 'FAIL'} tensor draws equal the scalar SplitMix64 twin bit for bit")
    if not ok:
        failures.append("rlhost rng")


if __name__ == "__main__":
    torch.manual_seed(0)
    reference_json()
    live_gymnasium()
    vec_env_contract()
    rlhost_rng()
    print("all checks passed" if not failures else f"FAILED: {', '.join(failures)}")
    sys.exit(1 if failures else 0)

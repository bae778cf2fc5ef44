#!/usr/bin/env python3
"""Writes the GradScaler fixture of plugins/a2c_continuous/tests/grad_scaler.rs: torch's own
`torch.amp.GradScaler("cpu")` driving the fused Adam rl_games 1.6.5 builds (`fused=True`, eps 1e-8),
as rl_games' `trancate_gradients_and_step` does with `mixed_precision: True`:

    scaler.scale(loss).backward()
    if clip: scaler.unscale_(opt); clip_grad_norm_(params, 1.0)     # truncate_grads
    scaler.step(opt); scaler.update()

on two parameters (w [3, 5], b [3]) and 16 steps of loss = sum(w * gw) + sum(b * gb), so the
unscaled gradients are gw, gb. growth_interval is 3 (torch's default is 2000) so growth shows in a
few steps; some steps carry a poisoned gradient element: 3e33 (finite, but overflows float32 once
multiplied by a scale of 2^17: the skip a real fp16/bf16 overflow causes), NaN, or inf. It stores
the settings, the initial parameters, each step's gradients, whether it clips, the poison, and
after each step the scale, the growth tracker, the Adam step count and both parameters; plus the
state_dict of a default GradScaler("cpu") (torch's defaults: 65536, 2, 0.5, 2000).

    ~/.cache/rlhost/venv-torch-2.13.0/bin/python bench/ab/grad_scaler_fixture.py [--out FILE]
"""
import argparse
import json
import os

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
OUT = os.path.join(ROOT, "plugins", "a2c_continuous", "tests", "fixtures", "grad_scaler_torch_2.13.json")

STEPS = 16
GROWTH_INTERVAL = 3
LR = 1e-2
# step -> (parameter, flat index, value as text: Rust's f32 parser reads "inf" and "NaN")
POISON = {3: ("w", 7, "3e33"), 7: ("b", 1, "NaN"), 8: ("w", 0, "inf"), 13: ("b", 2, "-inf")}


def floats(t):
    return [float(x) for x in t.detach().reshape(-1).tolist()]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=OUT)
    args = ap.parse_args()

    torch.manual_seed(0)
    w = torch.randn(3, 5).requires_grad_(True)
    b = torch.randn(3).requires_grad_(True)
    init = {"w": floats(w), "b": floats(b)}
    opt = torch.optim.Adam([w, b], LR, eps=1e-08, weight_decay=0.0, fused=True)
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0**16, growth_factor=2.0, backoff_factor=0.5,
                                  growth_interval=GROWTH_INTERVAL)
    steps = []
    for k in range(STEPS):
        gw, gb = torch.randn(3, 5), torch.randn(3)
        raw = {"gw": floats(gw), "gb": floats(gb)}
        if k in POISON:
            name, index, text = POISON[k]
            (gw if name == "w" else gb).view(-1)[index] = float(text)
        clip = k % 2 == 0
        loss = (w * gw).sum() + (b * gb).sum()
        opt.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        if clip:
            scaler.unscale_(opt)
            torch.nn.utils.clip_grad_norm_([w, b], 1.0)
        scaler.step(opt)
        scaler.update()
        state = scaler.state_dict()
        steps.append({
            **raw,
            "poison": list(POISON[k]) if k in POISON else None,
            "clip": clip,
            "scale": state["scale"],
            "growth_tracker": state["_growth_tracker"],
            "adam_step": float(opt.state[w]["step"]),
            "w": floats(w),
            "b": floats(b),
        })
    fixture = {
        "torch": torch.__version__,
        "lr": LR,
        "init_scale": 2.0**16,
        "growth_factor": 2.0,
        "backoff_factor": 0.5,
        "growth_interval": GROWTH_INTERVAL,
        "max_norm": 1.0,
        "defaults": torch.amp.GradScaler("cpu").state_dict(),
        "init": init,
        "steps": steps,
    }
    with open(args.out, "w") as f:
        json.dump(fixture, f, indent=1)
    print(f"wrote {args.out}: scales {[s['scale'] for s in steps]}")


if __name__ == "__main__":
    main()

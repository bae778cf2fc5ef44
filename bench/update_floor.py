#!/usr/bin/env python3
"""The GEMM floor of one PPO minibatch: the matrix products alone against the whole step.

    python3 bench/update_floor.py --units 256 128 64 --rows 8192 --obs 3 --actions 1 --threads 2

For an actor-critic MLP (shared trunk, μ and value heads, as `separate: False`) on `--rows`
rows it times, in libtorch through PyTorch on this machine's CPU:

* `gemm`: only the products a forward and backward need (x·Wᵀ forward; dY·W and dYᵀ·X backward,
  no input gradient for the first layer), on preallocated tensors with `out=`: the floor any
  implementation of the same float32 arithmetic pays;
* `step`: forward + PPO-shaped loss + backward + clip_grad_norm + fused Adam on the real
  `nn.Sequential` with ELU, as rl_games runs one minibatch.

Each is the median of `--repeats` timings after warm-up; the FLOP count and the rate reached are
printed, and `--json` writes them. Compare `step` with rlhost's update time per minibatch
(`rlhost bench`'s `update` share / (mini_epochs × minibatches)).
"""
import argparse
import json
import statistics
import time

import torch


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--units", type=int, nargs="+", default=[256, 128, 64])
    ap.add_argument("--rows", type=int, default=8192)
    ap.add_argument("--obs", type=int, default=3)
    ap.add_argument("--actions", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=30)
    ap.add_argument("--json", default=None)
    return ap.parse_args()


def timed(fn, repeats):
    for _ in range(5):
        fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def layer_shapes(args):
    """(in, out) of each Linear: the trunk, then μ and value heads merged into one product."""
    sizes = [args.obs] + args.units
    return list(zip(sizes[:-1], sizes[1:])) + [(args.units[-1], args.actions + 1)]


def gemm_only(args):
    shapes = layer_shapes(args)
    n = args.rows
    xs = [torch.randn(n, i) for i, _ in shapes]
    ws = [torch.randn(o, i) for i, o in shapes]
    ys = [torch.empty(n, o) for _, o in shapes]
    dys = [torch.randn(n, o) for _, o in shapes]
    dxs = [torch.empty(n, i) for i, _ in shapes]
    dws = [torch.empty(o, i) for i, o in shapes]

    def run():
        for x, w, y in zip(xs, ws, ys):
            torch.mm(x, w.t(), out=y)
        for k, (x, w, dy, dx, dw) in enumerate(zip(xs, ws, dys, dxs, dws)):
            torch.mm(dy.t(), x, out=dw)
            if k > 0:
                torch.mm(dy, w, out=dx)

    flops = sum(2 * n * i * o * (2 if k == 0 else 3) for k, (i, o) in enumerate(shapes))
    return run, flops


def whole_step(args):
    sizes = [args.obs] + args.units
    layers = []
    for i, o in zip(sizes[:-1], sizes[1:]):
        layers += [torch.nn.Linear(i, o), torch.nn.ELU()]
    trunk = torch.nn.Sequential(*layers)
    mu = torch.nn.Linear(args.units[-1], args.actions)
    value = torch.nn.Linear(args.units[-1], 1)
    params = list(trunk.parameters()) + list(mu.parameters()) + list(value.parameters())
    opt = torch.optim.Adam(params, lr=3e-4, eps=1e-8, fused=True)
    n = args.rows
    obs, actions = torch.randn(n, args.obs), torch.randn(n, args.actions)
    old_neglogp, adv, ret = torch.randn(n), torch.randn(n), torch.randn(n, 1)

    def run():
        h = trunk(obs)
        m, v = mu(h), value(h)
        neglogp = 0.5 * ((actions - m) ** 2).sum(1)
        ratio = torch.exp(old_neglogp - neglogp)
        a_loss = torch.max(-adv * ratio, -adv * ratio.clamp(0.8, 1.2)).mean()
        c_loss = ((v - ret) ** 2).mean()
        loss = a_loss + 0.5 * c_loss
        for p in params:
            p.grad = None
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()

    return run


def main():
    args = parse_args()
    torch.set_num_threads(args.threads)
    run, flops = gemm_only(args)
    gemm = timed(run, args.repeats)
    step = timed(whole_step(args), args.repeats)
    report = {
        "units": args.units, "rows": args.rows, "threads": args.threads, "gflop": flops / 1e9,
        "gemm_ms": gemm * 1e3, "gemm_gflops": flops / gemm / 1e9,
        "step_ms": step * 1e3, "gemm_share_of_step": gemm / step,
    }
    print(f"{args.rows} rows, MLP {args.units}, {args.threads} threads: {flops / 1e9:.2f} GFLOP of products")
    print(f"  products alone        {gemm * 1e3:7.2f} ms  ({flops / gemm / 1e9:.0f} GFLOP/s)")
    print(f"  whole minibatch step  {step * 1e3:7.2f} ms  (products = {gemm / step:.0%} of it)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1)


if __name__ == "__main__":
    main()

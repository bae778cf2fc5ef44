"""Train FPS of Isaac Lab's train.py shape with `from rlhost import Runner` against the same
script with rl_games 1.6.5's Runner: same env (tests/python/isaac_style_env.py wrapped as
RlGamesVecEnvWrapper wraps Isaac Lab's), same config, same machine, alternating runs.

Usage: .venv/bin/python bench/isaaclab_runner.py [--epochs 60] [--repeats 3]
(one run is `... --one rlhost|rl_games`, in its own process).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "python"))


def one(which, epochs):
    from rl_games.common.algo_observer import IsaacAlgoObserver

    import train_like_isaaclab as script

    agent_cfg, _ = script.register_env("train")
    cfg = agent_cfg["params"]["config"]
    cfg["max_epochs"] = epochs
    cfg["torch_compile"] = False  # rl_games 1.6.5 compiles by default; rlhost runs eagerly
    if which == "rlhost":
        from rlhost import Runner
    else:
        from rl_games.torch_runner import Runner
    runner = Runner(IsaacAlgoObserver())
    runner.load(agent_cfg)
    runner.reset()
    start = time.perf_counter()
    runner.run({"train": True, "play": False, "sigma": None, "checkpoint": None})
    seconds = time.perf_counter() - start
    frames = epochs * cfg["num_actors"] * cfg["horizon_length"]
    print(json.dumps({"runner": which, "fps": frames / seconds, "seconds": seconds}))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--one", choices=["rlhost", "rl_games"])
    parser.add_argument("--json", default=os.path.join(ROOT, "bench/results/isaaclab_runner.json"))
    args = parser.parse_args()
    if args.one:
        return one(args.one, args.epochs)
    fps = {"rlhost": [], "rl_games": []}
    for _ in range(args.repeats):
        for which in fps:
            with tempfile.TemporaryDirectory() as work:
                out = subprocess.run([sys.executable, __file__, "--one", which, "--epochs", str(args.epochs)],
                                     cwd=work, check=True, capture_output=True, text=True).stdout
            fps[which].append(json.loads(out.strip().splitlines()[-1])["fps"])
    a, b = statistics.median(fps["rlhost"]), statistics.median(fps["rl_games"])
    print(f"train FPS, median of {args.repeats}: rlhost Runner {a:,.0f}, rl_games 1.6.5 Runner {b:,.0f}, ratio {a / b:.2f}")
    os.makedirs(os.path.dirname(args.json), exist_ok=True)
    with open(args.json, "w") as f:
        json.dump({"epochs": args.epochs, "fps": fps, "ratio": a / b}, f, indent=2)


if __name__ == "__main__":
    main()

"""Python-side helpers of rlhost's Python environment plugin (loaded once per process).

They turn Gymnasium spaces and Isaac Lab extras into plain tuples, so the Rust side makes one
call per step instead of one per attribute.
"""
import importlib
import math

import numpy as np


def describe_space(space):
    """("box", shape, dtype, low, high) | ("discrete", n) | ("multi_discrete", nvec) | ("dict", [(key, space)])."""
    from gymnasium import spaces

    if isinstance(space, spaces.Dict):
        return ("dict", [(k, describe_space(v)) for k, v in space.spaces.items()])
    if isinstance(space, spaces.Box):
        low = np.broadcast_to(np.asarray(space.low, dtype=np.float64), space.shape).ravel()
        high = np.broadcast_to(np.asarray(space.high, dtype=np.float64), space.shape).ravel()
        return ("box", [int(d) for d in space.shape], str(np.dtype(space.dtype)), low.tolist(), high.tolist())
    if isinstance(space, spaces.Discrete):
        return ("discrete", int(space.n))
    if isinstance(space, spaces.MultiDiscrete):
        return ("multi_discrete", [int(n) for n in np.asarray(space.nvec).ravel()])
    return ("other", type(space).__name__)


def load_entry_point(text):
    """The callable named by "package.module:attribute"."""
    module_name, _, attribute = text.partition(":")
    target = importlib.import_module(module_name)
    for part in attribute.split("."):
        target = getattr(target, part)
    return target


def make_gym_vector(env_id, num_envs, mode, kwargs):
    """Gymnasium's own vector env for `env_id`, finished episodes restarting in the same step."""
    import gymnasium as gym

    return gym.make_vec(
        env_id,
        num_envs=num_envs,
        vectorization_mode=mode,
        vector_kwargs={"autoreset_mode": gym.vector.AutoresetMode.SAME_STEP},
        **kwargs,
    )


def gym_episode_limit(env):
    spec = getattr(env, "spec", None)
    limit = getattr(spec, "max_episode_steps", None) if spec is not None else None
    return int(limit) if limit else 0


def _is_tensor(v):
    return hasattr(v, "detach") and hasattr(v, "numel")


def _is_scalar(v):
    if isinstance(v, bool):
        return False
    if isinstance(v, (int, float)):
        return True
    return _is_tensor(v) and v.dim() == 0


class ExtrasReader:
    """Reads Isaac Lab extras as ([(episode key, sum, count)], [(log key, value)]).

    `extras["log"]` (or `extras["episode"]`, the name Isaac Lab's wrapper gives it) holds episode
    statistics: scalars or tensors, each element one value, as IsaacAlgoObserver concatenates
    them. Top-level scalars are per-step logs (its `direct_info`). Tensors are summed on their
    device and read in one transfer. Isaac Lab replaces the `log` dict on resets and hands the
    same one back in between, which IsaacAlgoObserver counts again every step; so does this
    reader, from the sums it kept for that dict (it holds the dict, so the identity is sound).
    """

    def __init__(self):
        self._episode_dict = None
        self._episode_rows = []

    def read(self, extras):
        if not isinstance(extras, dict):
            return [], []
        episode = extras.get("log", extras.get("episode"))
        if isinstance(episode, dict) and episode is not self._episode_dict:
            self._episode_rows = self._sums(episode)
            self._episode_dict = episode
        elif not isinstance(episode, dict):
            self._episode_dict, self._episode_rows = None, []
        logs = [(k, v) for k, v in extras.items() if k not in ("log", "episode") and _is_scalar(v)]
        tensors = [v.detach().double() for _, v in logs if _is_tensor(v)]
        values = iter(_read_all(tensors))
        log_rows = [(k, next(values) if _is_tensor(v) else float(v)) for k, v in logs]
        return self._episode_rows, [(k, v) for k, v in log_rows if math.isfinite(v)]

    @staticmethod
    def _sums(episode):
        names, sums, counts, rows = [], [], [], []
        for key, value in episode.items():
            if _is_tensor(value):
                names.append(key)
                sums.append(value.detach().double().sum())
                counts.append(int(value.numel()))
            elif isinstance(value, (int, float)) and not isinstance(value, bool):
                rows.append((key, float(value), 1))
        values = _read_all(sums)
        return [(n, s, c) for n, s, c in zip(names, values, counts) if c > 0] + rows


def _read_all(tensors):
    if not tensors:
        return []
    import torch

    return torch.stack([t.to(tensors[0].device).reshape(()) for t in tensors]).tolist()

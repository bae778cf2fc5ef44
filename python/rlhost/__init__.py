"""rlhost: rl_games' Runner on rlhost's plugins.

    from rlhost import Runner          # instead of: from rl_games.torch_runner import Runner
    runner = Runner(IsaacAlgoObserver())
    runner.load(agent_cfg)             # the whole agent config, {"params": {...}}
    runner.reset()
    runner.run({"train": True, "play": False, "sigma": None, "checkpoint": None})

Plugins come from `Runner(plugin_dirs=[...])`, then `RLHOST_PLUGIN_PATH`, then the folder shipped
inside this package (`rlhost/plugins`) or, in a development install, the repository's `plugins/`.
Errors raise `rlhost.RlhostError` subclasses (RuntimeErrors) carrying rlhost's one-line message.
"""
import os as _os

from ._rlhost import (  # noqa: F401
    CheckpointError,
    ConfigError,
    DeviceError,
    EnvError,
    NonFiniteError,
    NotFoundError,
    RlhostError,
    ShapeError,
    UnsupportedError,
    __version__,
    _dev_binary,
    _dev_plugin_dir,
)
from ._rlhost import Runner as _NativeRunner

_HERE = _os.path.dirname(_os.path.abspath(__file__))


def default_plugin_dirs():
    """The plugin folders used when none are named: the package's own, else the repository's."""
    shipped = _os.path.join(_HERE, "plugins")
    if _os.path.isdir(shipped):
        return [shipped]
    dev = _dev_plugin_dir()
    return [dev] if _os.path.isdir(dev) else []


def _scanner():
    """The `rlhost` binary that scans plugin files in a child process."""
    shipped = _os.path.join(_HERE, "bin", "rlhost")
    return shipped if _os.path.exists(shipped) else _dev_binary()


class Runner(_NativeRunner):
    """rl_games' `Runner(algo_observer)`: `load(params)`, `reset()`, `run(args)`."""

    def __new__(cls, algo_observer=None, plugin_dirs=None):
        _os.environ.setdefault("RLHOST_PROBE_EXE", _scanner())
        if plugin_dirs is None and not _os.environ.get("RLHOST_PLUGIN_PATH"):
            plugin_dirs = default_plugin_dirs()
        return super().__new__(cls, algo_observer, plugin_dirs)


    def create_player(self):
        """rl_games' `runner.create_player()`, as Isaac Lab's play.py uses it."""
        return Player(super().create_player())


class Player:
    """rl_games' player surface that Isaac Lab's play.py uses (feed-forward policies)."""

    is_rnn = False
    states = None
    is_deterministic = True
    has_batch_dimension = True

    def __init__(self, native):
        self._native = native

    def restore(self, path):
        self._native.restore(path)

    def reset(self):
        pass

    def init_rnn(self):
        pass

    def get_batch_size(self, obs, batch_size):
        return obs.shape[0] if obs.dim() > 1 else batch_size

    def obs_to_torch(self, obs):
        if isinstance(obs, dict):
            obs = obs["obs"] if "obs" in obs else obs["policy"]
        return obs

    def get_action(self, obs, is_deterministic=True):
        return self._native.get_action(obs, is_deterministic)


__all__ = ["Runner", "Player", "RlhostError", "default_plugin_dirs"]

"""rl_games environments (its `env_configurations` and `vecenv` registries, as Isaac Lab fills
them) seen as the Isaac Lab-style env that rlhost's `python` environment builder steps.

The Runner points `params.config.env_name` at `make` when the name is registered with rl_games;
tensors then cross through the same DLPack bridge as any Python environment. `OBSERVER` is the
Runner's `algo_observer`: it gets `process_infos(infos, done_indices)` after every step, as in
rl_games.
"""
import torch

OBSERVER = None


def registered(name):
    """Whether rl_games is importable and `name` is in its `env_configurations`."""
    try:
        from rl_games.common import env_configurations
    except ImportError:
        return False
    return name in env_configurations.configurations


def make(num_envs, device, seed, config_name, env_kwargs=None):
    from rl_games.common import vecenv

    env = vecenv.create_vec_env(config_name, num_envs, **(env_kwargs or {}))
    return RlGamesEnv(env, num_envs, device, OBSERVER)


class RlGamesEnv:
    """An rl_games `IVecEnv` (`step`, `reset`, `get_env_info`) with Isaac Lab's interface."""

    def __init__(self, env, num_envs, device, observer):
        import gymnasium as gym

        self.env = env
        self.num_envs = num_envs
        self.device = device
        self.observer = observer
        info = env.get_env_info()
        self.single_action_space = info["action_space"]
        state_space = info.get("state_space")
        if state_space is not None:
            self.single_observation_space = gym.spaces.Dict(
                {"policy": info["observation_space"], "critic": state_space}
            )
        else:
            self.single_observation_space = info["observation_space"]
        self.asymmetric = state_space is not None

    def _observations(self, obs):
        if isinstance(obs, dict):
            if self.asymmetric:
                return {"policy": obs["obs"], "critic": obs["states"]}
            return obs["obs"]
        return obs

    def set_train_info(self, env_frames, *args, **kwargs):
        if hasattr(self.env, "set_train_info"):
            self.env.set_train_info(env_frames, *args, **kwargs)

    def reset(self):
        return self._observations(self.env.reset()), {}

    def step(self, actions):
        obs, rewards, dones, infos = self.env.step(actions)
        dones = dones.to(torch.bool).reshape(-1)
        time_outs = infos.get("time_outs") if isinstance(infos, dict) else None
        time_outs = dones & time_outs.to(torch.bool).reshape(-1) if time_outs is not None else torch.zeros_like(dones)
        if self.observer is not None:
            done_indices = dones.nonzero(as_tuple=False)
            self.observer.process_infos(infos, done_indices)
            extras = {}  # the observer writes them, as in rl_games
        else:
            extras = infos if isinstance(infos, dict) else {}
        return self._observations(obs), rewards.reshape(-1), dones & ~time_outs, time_outs, extras

    def close(self):
        """The env belongs to the script that registered it (Isaac Lab's train.py closes it)."""


class AlgoView:
    """What rl_games' `IsaacAlgoObserver.after_init(algo)` reads from the algorithm."""

    def __init__(self, writer, games_to_track, device, config):
        self.writer = writer
        self.games_to_track = games_to_track
        self.ppo_device = device
        self.device = device
        self.config = config


def to_json(params):
    """The agent config as JSON text: numbers, strings, lists and dicts as they are, numpy and
    torch scalars as numbers, anything else (a class, a device) as its string."""
    import json

    def plain(value):
        if hasattr(value, "item"):
            return value.item()
        if isinstance(value, (set, tuple)):
            return list(value)
        return str(value)

    return json.dumps(params, default=plain)

"""Where the fixture scripts write: the repository's own fixture folders, or, with
RLHOST_RL_GAMES_FIXTURES set (bench/ab/machine_fixtures.py sets it), the same repository-relative
paths under that folder, so fixtures made on another kind of CPU never touch the committed ones."""
import os

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ENV = "RLHOST_RL_GAMES_FIXTURES"


def out_path(repo_relative):
    """The path a fixture at `repo_relative` (e.g. model/tests/fixtures/x.npz) is written to."""
    base = os.environ.get(ENV) or ROOT
    path = os.path.join(base, repo_relative)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    return path

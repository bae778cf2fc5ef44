//! Training across processes (`params.config.multi_gpu=True`, c10d on Gloo) through the binary:
//! two ranks spawned with torchrun's variables, on the CPU.
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

mod common;
use common::{built_library, plugin_dir, rlhost_bin, workspace_root};

/// Pendulum's config with a small batch: `envs` per rank, 32 steps, minibatches of `minibatch`.
fn pendulum_overrides(envs: u32, minibatch: u32) -> Vec<String> {
    vec![
        "params.torch_threads=1".into(),
        format!("params.config.num_actors={envs}"),
        format!("params.config.minibatch_size={minibatch}"),
        "params.config.save_best_after=100000".into(),
    ]
}

/// A folder with the PPO and classic-control plugins.
fn plugins() -> tempfile::TempDir {
    plugin_dir(&[
        built_library("rlhost-plugin-a2c-continuous", "rlhost_a2c_continuous"),
        built_library("rlhost-plugin-classic-control", "rlhost_classic_control"),
    ])
}

/// `rlhost train` on the Pendulum config as rank `rank` of `world_size` (torchrun's variables),
/// in `dir`, with stdout piped (or to `stdout_file`) and stderr to `<dir>/rank<r>.err`.
fn spawn_rank(
    dir: &Path,
    plugins: &Path,
    rank: u32,
    world_size: u32,
    port: u16,
    overrides: &[String],
    stdout_file: Option<&Path>,
) -> Child {
    let config = workspace_root().join("configs/pendulum_ppo.yaml");
    let mut cmd = Command::new(rlhost_bin());
    cmd.current_dir(dir)
        .args(["train", "--plugin-dir"])
        .arg(plugins)
        .arg("--config")
        .arg(&config)
        .arg("params.config.multi_gpu=True")
        .args(overrides)
        .env_remove("RLHOST_PLUGIN_PATH")
        .env("RLHOST_PLUGIN_CACHE", dir.join(format!("scan-cache-{rank}.json")))
        .env("RANK", rank.to_string())
        .env("LOCAL_RANK", rank.to_string())
        .env("WORLD_SIZE", world_size.to_string())
        .env("MASTER_ADDR", "127.0.0.1")
        .env("MASTER_PORT", port.to_string())
        .stderr(File::create(dir.join(format!("rank{rank}.err"))).expect("stderr file"));
    match stdout_file {
        Some(path) => cmd.stdout(File::create(path).expect("stdout file")),
        None => cmd.stdout(Stdio::piped()),
    };
    cmd.spawn().expect("rlhost starts")
}

/// A port nobody listens on.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

/// Runs `world_size` ranks to the end: (exit code, stdout, stderr) by rank.
fn run_ranks(dir: &Path, world_size: u32, overrides: &[String]) -> Vec<(i32, String, String)> {
    let plugins = plugins();
    let port = free_port();
    let children: Vec<(Child, PathBuf)> = (0..world_size)
        .map(|rank| {
            let out = dir.join(format!("rank{rank}.out"));
            (spawn_rank(dir, plugins.path(), rank, world_size, port, overrides, Some(&out)), out)
        })
        .collect();
    children
        .into_iter()
        .enumerate()
        .map(|(rank, (mut child, out))| {
            let status = child.wait().expect("rank exits");
            let stdout = std::fs::read_to_string(out).unwrap_or_default();
            let stderr = std::fs::read_to_string(dir.join(format!("rank{rank}.err"))).unwrap_or_default();
            (status.code().unwrap_or(-1), stdout, stderr)
        })
        .collect()
}

/// The run folders `rlhost train` created under `<dir>/runs`.
fn run_folders(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir.join("runs")) else { return Vec::new() };
    entries.flatten().map(|e| e.path()).collect()
}

#[test]
fn every_rank_holds_rank_0s_state_after_every_epoch() {
    let dir = tempfile::tempdir().unwrap();
    let mut overrides = pendulum_overrides(32, 512);
    overrides.extend(["params.config.max_epochs=4".into(), "params.config.multi_gpu_check_sync=True".into()]);
    let ranks = run_ranks(dir.path(), 2, &overrides);
    for (rank, (code, stdout, stderr)) in ranks.iter().enumerate() {
        assert_eq!(*code, 0, "rank {rank} failed:\n{stdout}\n{stderr}");
    }
    // The check compares weights, normaliser statistics and Adam moments bit for bit on every
    // rank against rank 0's, and fails the run on any difference; rank 0 reports each epoch.
    let (_, leader, _) = &ranks[0];
    let checked: Vec<&str> = leader.lines().filter(|l| l.starts_with("multi_gpu_check_sync: epoch ")).collect();
    assert_eq!(checked.len(), 4, "{leader}");
    for (epoch, line) in checked.iter().enumerate() {
        assert!(line.starts_with(&format!("multi_gpu_check_sync: epoch {}: 2 ranks hold identical state", epoch + 1)));
    }
    // Frames count every rank's: 2 x 32 envs x 32 steps per epoch.
    assert!(leader.contains("epoch: 4/4 frames: 8192"), "{leader}");
    // Rank 0 alone prints, writes the run folder and saves.
    let (_, follower, _) = &ranks[1];
    assert!(!follower.contains("fps step") && !follower.contains("saving checkpoint"), "{follower}");
    let folders = run_folders(dir.path());
    assert_eq!(folders.len(), 1, "{folders:?}");
    let nn = common::file_names(&folders[0].join("nn"));
    assert!(nn.iter().any(|n| n.starts_with("last_pendulum_ep_4")), "{nn:?}");
}

/// From a run's `episodes.csv` (an env's first, staggered episode left out): the frame at which
/// the mean return of the last 100 finished episodes first reaches -200, and the mean return of
/// the last 1,000 episodes.
fn learning(run_folder: &Path) -> (Option<u64>, f64) {
    let text = std::fs::read_to_string(run_folder.join("summaries/episodes.csv")).expect("episodes.csv");
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("header").split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap_or_else(|| panic!("no {name} column"));
    let (frame, ret, first) = (col("frame"), col("return"), col("first_episode"));
    let (mut returns, mut hit) = (Vec::new(), None);
    for line in lines {
        let row: Vec<&str> = line.split(',').collect();
        if row[first] == "1" {
            continue;
        }
        returns.push(row[ret].parse::<f64>().expect("return"));
        let n = returns.len();
        if hit.is_none() && n >= 100 && returns[n - 100..].iter().sum::<f64>() / 100.0 >= -200.0 {
            hit = Some(row[frame].parse().expect("frame"));
        }
    }
    let tail = &returns[returns.len().saturating_sub(1000)..];
    (hit, tail.iter().sum::<f64>() / tail.len().max(1) as f64)
}

#[test]
fn two_ranks_learn_pendulum_as_fast_as_one_with_the_same_envs() {
    // The same total: 256 envs and minibatches of 4096 on one rank; 128 envs and 2048 per rank
    // on two (the averaged gradient is that of 4096 samples). 1.5M frames: seed 42 of the single
    // rank needs 740k on an Intel Xeon with AVX-512 (its rounding), under 570k where this was written.
    let max_frames = "params.config.max_frames=1500000".to_string();
    let one = tempfile::tempdir().unwrap();
    let mut single = pendulum_overrides(256, 4096);
    single.push(max_frames.clone());
    let plugins = plugins();
    let out = Command::new(rlhost_bin())
        .current_dir(one.path())
        .args(["train", "--plugin-dir"])
        .arg(plugins.path())
        .arg("--config")
        .arg(workspace_root().join("configs/pendulum_ppo.yaml"))
        .args(&single)
        .env_remove("RLHOST_PLUGIN_PATH")
        .env("RLHOST_PLUGIN_CACHE", one.path().join("scan-cache.json"))
        .output()
        .expect("rlhost runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let single = learning(&run_folders(one.path())[0]);

    let two = tempfile::tempdir().unwrap();
    let mut multi = pendulum_overrides(128, 2048);
    multi.push(max_frames);
    let ranks = run_ranks(two.path(), 2, &multi);
    for (rank, (code, stdout, stderr)) in ranks.iter().enumerate() {
        assert_eq!(*code, 0, "rank {rank} failed:\n{stdout}\n{stderr}");
    }
    let multi = learning(&run_folders(two.path())[0]);
    eprintln!("frames to -200 and last 1,000 returns: 1 rank x 256 envs {single:?}, 2 ranks x 128 envs {multi:?}");
    let ((Some(single_frames), single_final), (Some(multi_frames), multi_final)) = (single, multi) else {
        panic!("a run did not reach -200: 1 rank {single:?}, 2 ranks {multi:?}");
    };
    // One-sided, and wide: on this config a seed's frames to -200 fall near 0.27M or near 0.7M
    // (measured: of 7 two-rank seeds, 5 at 0.25M-0.31M and 2 at 0.71M; single ranks alike), so
    // the ratio of one seed's runs is up to ~2.6 with nothing wrong. A run that did not learn
    // (gradients not averaged, ranks on one env stream) misses -200 or ends far below.
    let ratio = multi_frames as f64 / single_frames as f64;
    assert!(ratio <= 3.0, "2 ranks need {ratio:.2}x the frames of one");
    assert!(
        multi_final >= single_final - 35.0,
        "2 ranks end at a mean return of {multi_final:.1} over the last 1,000 episodes, 1 rank at {single_final:.1}"
    );
}

#[test]
fn a_rank_that_dies_ends_the_other_with_a_one_line_error() {
    let dir = tempfile::tempdir().unwrap();
    let plugins = plugins();
    let port = free_port();
    let mut overrides = pendulum_overrides(32, 512);
    overrides.extend(["params.config.max_epochs=100000".into(), "params.config.multi_gpu_timeout=60".into()]);
    let mut leader = spawn_rank(dir.path(), plugins.path(), 0, 2, port, &overrides, None);
    let mut follower =
        spawn_rank(dir.path(), plugins.path(), 1, 2, port, &overrides, Some(&dir.path().join("rank1.out")));
    let mut lines = BufReader::new(leader.stdout.take().expect("piped")).lines();
    for line in lines.by_ref() {
        if line.expect("utf-8").contains("epoch: 3/") {
            break;
        }
    }
    follower.kill().expect("kill rank 1");
    follower.wait().expect("rank 1 reaped");
    // Drain stdout so the leader never blocks on a full pipe, then collect its exit.
    for _ in lines {}
    let status = leader.wait().expect("rank 0 exits");
    let stderr = std::fs::read_to_string(dir.path().join("rank0.err")).unwrap();
    assert!(!status.success(), "rank 0 went on without rank 1:\n{stderr}");
    let error = stderr.lines().last().unwrap_or_default();
    eprintln!("rank 0 after rank 1 died: {error}");
    assert!(error.starts_with("error: ") && error.contains("multi-GPU rank 0 of 2: "), "{stderr}");
    assert!(error.contains("another rank stopped"), "{stderr}");
}

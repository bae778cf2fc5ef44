//! The plugin host end to end: discovery of good and broken plugins, factories, panics at the
//! boundary, tensor views in both directions, and the `rlhost` binary's user-visible behaviour.
mod common;

use common::*;
use rlhost::discovery::{discover, load_plugin};
use rlhost::registry::Registry;
use rlhost_plugin_api::{BuilderKind, DlDevice, EnvArgs};
use rlhost_sdk::EnvHandle;
use std::path::Path;
use tch::{Kind, Tensor};

fn env_args(num_envs: u32) -> EnvArgs {
    EnvArgs {
        config_json: "{}".into(),
        num_envs,
        seed: 1,
        device: DlDevice::CPU,
        config_dir: Default::default(),
        verbose: false,
    }
}

/// Every broken fixture next to two good plugins.
fn mixed_plugin_dir() -> tempfile::TempDir {
    let dir = plugin_dir(&[
        fixture("toy"),
        fixture("panic_builder"),
        fixture("api_major"),
        fixture("other_libtorch"),
        fixture("no_root_module"),
    ]);
    write_non_elf(dir.path());
    dir
}

fn refusal_reason(dir: &Path, file: &str) -> String {
    let set = discover(&[dir.to_path_buf()]);
    let r = set
        .refused
        .iter()
        .find(|r| r.path.file_name().unwrap() == file)
        .unwrap_or_else(|| panic!("{file} not refused"));
    r.line()
}

#[test]
fn broken_plugins_get_one_line_each_and_good_ones_still_load() {
    let dir = mixed_plugin_dir();
    let d = dir.path();
    let set = discover(&[d.to_path_buf()]);
    let loaded: Vec<&str> = set.loaded.iter().map(|p| p.manifest.id.as_str()).collect();
    assert_eq!(loaded, ["org.rlhost.test.panic_builder", "org.rlhost.test.toy"]);
    assert_eq!(set.refused.len(), 4);
    assert_eq!(
        refusal_reason(d, "not_elf.so"),
        format!(
            "refused plugin {}: cannot open shared library: invalid ELF header (hint: is it a shared library built for this platform?)",
            d.join("not_elf.so").display()
        )
    );
    assert_eq!(
        refusal_reason(d, "libfixture_no_root_module.so"),
        format!(
            "refused plugin {}: not an rlhost plugin: no `rlhost_plugin_manifest_json` symbol (hint: plugins export their root module with rlhost_sdk::export_plugin!)",
            d.join("libfixture_no_root_module.so").display()
        )
    );
    assert_eq!(
        refusal_reason(d, "libfixture_api_major.so"),
        format!(
            "refused plugin {}: built for plugin API 1.0.0; this host needs 2.x (hint: rebuild it against rlhost-plugin-api 2.0)",
            d.join("libfixture_api_major.so").display()
        )
    );
    assert_eq!(
        refusal_reason(d, "libfixture_other_libtorch.so"),
        format!(
            "refused plugin {}: built with tch 0.25.0, this host uses tch 0.26.0 (hint: rebuild it with tch = \"=0.26.0\" (rlhost-sdk pins it))",
            d.join("libfixture_other_libtorch.so").display()
        )
    );
    for r in &set.refused {
        assert!(!r.line().contains('\n'), "one line: {}", r.line());
    }
}

#[test]
fn plugins_command_prints_a_table_with_builders_and_refusals() {
    let dir = mixed_plugin_dir();
    let out = run_rlhost(dir.path(), &["plugins", "--plugin-dir", "."]);
    let (stdout, stderr) = texts(&out);
    assert!(out.status.success(), "{stderr}");
    let header = stdout.lines().next().unwrap();
    for col in ["ID", "VERSION", "API", "FILE", "BUILDERS", "STATUS"] {
        assert!(header.contains(col), "{header}");
    }
    let toy = stdout.lines().find(|l| l.starts_with("org.rlhost.test.toy ")).expect("toy row");
    assert!(toy.contains("algo:toy_algo player:toy_algo env:ToyEnv") && toy.ends_with("ok"), "{toy}");
    let api = stdout.lines().find(|l| l.starts_with("org.rlhost.test.api_major")).expect("api row");
    assert!(api.contains("1.0.0") && api.contains("refused: built for plugin API 1.0.0; this host needs 2.x"), "{api}");
    assert!(stdout.contains("refused: cannot open shared library: invalid ELF header"), "{stdout}");
    assert_eq!(stdout.lines().count(), 7, "{stdout}");
}

#[test]
fn the_same_library_type_loads_twice_side_by_side() {
    let dir = plugin_dir(&[fixture("toy"), fixture("toy_twin")]);
    let set = discover(&[dir.path().to_path_buf()]);
    assert_eq!(set.loaded.len(), 2, "{:?}", set.refused);
    let registry = Registry::new(&set.loaded, &[]);
    let mut firsts = Vec::new();
    for id in ["org.rlhost.test.toy", "org.rlhost.test.toy-twin"] {
        let env = registry.create_env(&format!("{id}:ToyEnv"), env_args(2)).unwrap();
        let mut env = EnvHandle::new(env).unwrap();
        let obs = Tensor::zeros([2, 3], (Kind::Float, tch::Device::Cpu));
        env.reset(std::slice::from_ref(&obs)).unwrap();
        firsts.push(f64::try_from(obs.get(0).get(0)).unwrap());
    }
    // Each library's own code ran: the toy tags with 1, its twin with 100.
    assert_eq!(firsts, [1.0, 100.0]);
}

#[test]
fn a_name_offered_twice_is_an_error_naming_both_files_until_one_is_picked() {
    let dir = plugin_dir(&[fixture("toy"), fixture("toy_twin")]);
    let set = discover(&[dir.path().to_path_buf()]);
    let registry = Registry::new(&set.loaded, &[]);
    let err = registry.resolve(BuilderKind::Env, "ToyEnv").unwrap_err().to_string();
    assert!(err.contains("libfixture_toy.so") && err.contains("libfixture_toy_twin.so"), "{err}");
    assert!(err.contains("--plugin-id"), "{err}");
    let (p, name) = registry.resolve(BuilderKind::Env, "org.rlhost.test.toy-twin:ToyEnv").unwrap();
    assert_eq!((p.manifest.id.as_str(), name), ("org.rlhost.test.toy-twin", "ToyEnv"));
    let preferring = Registry::new(&set.loaded, &["org.rlhost.test.toy".to_string()]);
    assert_eq!(preferring.resolve(BuilderKind::Algo, "toy_algo").unwrap().0.manifest.id, "org.rlhost.test.toy");
}

#[test]
fn unknown_names_list_the_known_ones() {
    let dir = plugin_dir(&[fixture("toy")]);
    let set = discover(&[dir.path().to_path_buf()]);
    let registry = Registry::new(&set.loaded, &[]);
    let err = registry.create_env("Pendulum-v2", env_args(1)).err().unwrap().to_string();
    assert_eq!(err, "unknown env 'Pendulum-v2'; known env builders: ToyEnv");
}

#[test]
fn a_panicking_builder_becomes_an_error_and_the_host_stays_up() {
    let set = discover(&[plugin_dir(&[fixture("panic_builder")]).path().to_path_buf()]);
    let registry = Registry::new(&set.loaded, &[]);
    let err = registry.create_env("PanicEnv", env_args(1)).err().unwrap().to_string();
    assert!(
        err.starts_with(
            "env 'PanicEnv' from plugin org.rlhost.test.panic_builder: plugin panicked: PanicEnv builder exploded"
        ),
        "{err}"
    );
    // Still alive, and the same plugin can be called again.
    assert!(registry.create_env("PanicEnv", env_args(1)).is_err());
}

#[test]
fn host_tensors_are_read_and_written_in_place_by_a_plugin() {
    let plugin = load_plugin(&fixture("toy")).unwrap();
    let plugins = [plugin];
    let registry = Registry::new(&plugins, &[]);
    let mut env = EnvHandle::new(registry.create_env("ToyEnv", env_args(3)).unwrap()).unwrap();
    let values = |r: i64, c: i64| Tensor::arange(r * c, (Kind::Float, tch::Device::Cpu)).view([r, c]);
    let cases =
        [("contiguous", values(3, 3)), ("transposed", values(3, 3).tr()), ("offset", values(5, 3).narrow(0, 1, 3))];
    for (what, t) in cases {
        let before = t.copy();
        let ptr = t.data_ptr();
        env.reset(std::slice::from_ref(&t)).unwrap();
        assert_eq!(t.data_ptr(), ptr, "{what}: same memory");
        let expected = before * 2.0 + 1.0;
        assert!(t.allclose(&expected, 0.0, 0.0, false), "{what}: {t:?}");
    }
    let wrong = Tensor::zeros([2, 3], (Kind::Float, tch::Device::Cpu));
    let err = env.reset(std::slice::from_ref(&wrong)).unwrap_err().to_string();
    assert_eq!(err, "observation buffer 'obs': expected shape [3, 3], got [2, 3]");
    let wrong_dtype = Tensor::zeros([3, 3], (Kind::Double, tch::Device::Cpu));
    assert_eq!(
        env.reset(std::slice::from_ref(&wrong_dtype)).unwrap_err().to_string(),
        "observation buffer 'obs': expected dtype float32, got float64"
    );
}

const TOY_CONFIG: &str = toy_config!("    check_views: true\n");

fn toy_run_dir(extra_libs: &[std::path::PathBuf]) -> tempfile::TempDir {
    let mut libs = vec![fixture("toy")];
    libs.extend_from_slice(extra_libs);
    let dir = plugin_dir(&libs);
    std::fs::write(dir.path().join("toy.yaml"), TOY_CONFIG).unwrap();
    dir
}

#[test]
fn train_writes_the_run_folder_and_plugin_tensors_round_trip_through_the_host() {
    let dir = toy_run_dir(&[]);
    let out = run_rlhost(dir.path(), &["train", "--plugin-dir", ".", "--config", "toy.yaml", "--experiment", "toyrun"]);
    let (stdout, stderr) = texts(&out);
    assert!(out.status.success(), "stdout:\n{stdout}\nstderr:\n{stderr}");
    // The agent's tensors were written in place by the host's wrapper (observation clipping) and the env.
    assert!(stdout.contains("toy agent: contiguous, transposed and offset views round-tripped"), "{stdout}");
    assert!(stdout.contains("self.seed = 7") && stdout.contains("Started to train"), "{stdout}");
    let run = dir.path().join("runs/toyrun");
    for file in ["params/config.yaml", "params/config.json", "nn/toy.json"] {
        assert!(run.join(file).is_file(), "{file}");
    }
    let resolved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("params/config.json")).unwrap()).unwrap();
    assert_eq!(resolved["params"]["config"]["full_experiment_name"], "toyrun");
    let events: Vec<_> = std::fs::read_dir(run.join("summaries"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with("events.out.tfevents."))
        .collect();
    assert_eq!(events.len(), 1);
    // Toy episodes last 5 steps, 3 envs, 15 steps: three batches of three episodes, the first partial-free.
    let episodes = std::fs::read_to_string(run.join("summaries/episodes.csv")).unwrap();
    let rows: Vec<&str> = episodes.lines().collect();
    assert_eq!(rows[0], "frame,env,return,length,first_episode");
    assert_eq!(rows[1..4], ["15,0,2.5,5,1", "15,1,2.5,5,1", "15,2,2.5,5,1"]);
    assert_eq!(rows.len(), 1 + 9, "{episodes}");
    assert_eq!(rows[9], "45,2,2.5,5,0");
    let scalars = read_scalars(&events[0]);
    let rewards: Vec<(i64, f32)> = scalars.iter().filter(|s| s.0 == "rewards/iter").map(|s| (s.1, s.2)).collect();
    assert_eq!(rewards, [(1, 2.5), (2, 2.5), (3, 2.5)]);
    // The env's extras, as rl_games' IsaacAlgoObserver writes them: episode statistics against
    // the epoch, plain scalars against frames and epochs (the latest value of each epoch).
    let series = |tag: &str| -> Vec<(i64, f32)> { scalars.iter().filter(|s| s.0 == tag).map(|s| (s.1, s.2)).collect() };
    assert_eq!(series("Episode/Episode_Reward/toy"), [(1, 5.0), (2, 5.0), (3, 5.0)]);
    assert_eq!(series("Metrics/toy_t/iter"), [(1, 5.0), (2, 10.0), (3, 15.0)]);
    assert_eq!(series("Metrics/toy_t/frame"), [(15, 5.0), (30, 10.0), (45, 15.0)]);
    assert_eq!(series("Metrics/toy_t/time").len(), 3);
}

#[test]
fn an_environment_on_a_device_the_machine_lacks_is_one_line() {
    let dir = toy_run_dir(&[]);
    let out = run_rlhost(
        dir.path(),
        &["train", "--plugin-dir", ".", "--config", "toy.yaml", "params.config.env_config.device=cuda:7"],
    );
    let (stdout, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(1), "stdout:\n{stdout}\nstderr:\n{stderr}");
    let last = stderr.lines().last().unwrap();
    assert!(
        last.starts_with("error: env 'ToyEnv': the environment's device: cuda:7 requested but ")
            && last.ends_with("CUDA device(s) are available"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked") && !stderr.contains("RUST_BACKTRACE"), "{stderr}");
}

#[test]
fn an_agent_panicking_mid_train_exits_non_zero_with_one_line() {
    let dir = toy_run_dir(&[]);
    let out = run_rlhost(
        dir.path(),
        &["train", "--plugin-dir", ".", "--config", "toy.yaml", "params.config.panic_at_epoch=2"],
    );
    let (stdout, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(1), "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(stdout.contains("progress: epoch 1/3"), "epoch 1 ran: {stdout}");
    let last = stderr.lines().last().unwrap();
    assert!(last.starts_with("error: plugin panicked: toy agent panicked at epoch 2 at "), "{stderr}");
    assert!(!stderr.contains("Aborting") && !stderr.contains("panicked at tests"), "no raw panic output: {stderr}");
}

#[test]
fn a_panicking_builder_in_a_run_exits_non_zero_while_good_plugins_load() {
    let dir = toy_run_dir(&[fixture("panic_builder"), fixture("api_major")]);
    let out =
        run_rlhost(dir.path(), &["train", "--plugin-dir", ".", "--config", "toy.yaml", "params.algo.name=panic_algo"]);
    let (_, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(
            "warning: refused plugin ./libfixture_api_major.so: built for plugin API 1.0.0; this host needs 2.x"
        ),
        "{stderr}"
    );
    assert_eq!(
        stderr.lines().last().unwrap().split(" at ").next().unwrap(),
        "error: algo 'panic_algo' from plugin org.rlhost.test.panic_builder: plugin panicked: panic_algo builder exploded"
    );
}

#[test]
fn bad_configs_name_the_file_and_the_key() {
    let dir = toy_run_dir(&[]);
    let d = dir.path();
    std::fs::write(d.join("broken.yaml"), "params:\n  config:\n    name: [unclosed\n").unwrap();
    let run = |args: &[&str]| {
        let out = run_rlhost(d, args);
        assert_eq!(out.status.code(), Some(1));
        texts(&out).1.lines().last().unwrap().to_string()
    };
    assert!(run(&["train", "--config", "missing.yaml", "--plugin-dir", "."])
        .starts_with("error: cannot read config missing.yaml"));
    let yaml = run(&["train", "--config", "broken.yaml", "--plugin-dir", "."]);
    assert!(yaml.starts_with("error: config broken.yaml: invalid YAML at line"), "{yaml}");
    let typed = run(&["train", "--config", "toy.yaml", "--plugin-dir", ".", "params.config.num_actors=many"]);
    assert!(typed.contains("params.config.num_actors") && typed.contains("expected a number"), "{typed}");
    let unknown = run(&["train", "--config", "toy.yaml", "--plugin-dir", ".", "params.config.env_name=Nope"]);
    assert_eq!(unknown, "error: unknown env 'Nope'; known env builders: ToyEnv");
}

#[test]
fn plugin_folders_also_come_from_the_environment() {
    let dir = plugin_dir(&[fixture("toy")]);
    let out = std::process::Command::new(rlhost_bin())
        .arg("plugins")
        .env("RLHOST_PLUGIN_PATH", format!("/nonexistent:{}", dir.path().display()))
        .output()
        .unwrap();
    let (stdout, stderr) = texts(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.lines().any(|l| l.starts_with("org.rlhost.test.toy ") && l.ends_with("ok")), "{stdout}");
}

#[test]
fn multi_gpu_reads_the_rank_and_offsets_the_seed_once() {
    let dir = toy_run_dir(&[]);
    let out = std::process::Command::new(rlhost_bin())
        .current_dir(dir.path())
        .args(["train", "--plugin-dir", ".", "--config", "toy.yaml", "params.config.multi_gpu=true"])
        .env("LOCAL_RANK", "1")
        .env("RANK", "3")
        .env("WORLD_SIZE", "4")
        .env("MASTER_ADDR", "127.0.0.1")
        .env("MASTER_PORT", "29511")
        .output()
        .unwrap();
    let (stdout, stderr) = texts(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("global_rank = 3 local_rank = 1 world_size = 4"), "{stdout}");
    assert!(stdout.contains("self.seed = 10"), "7 + rank 3: {stdout}");
    // Rank 3 is not rank 0: no run folder, no summary line (rl_games: rank 0 alone writes).
    assert!(!dir.path().join("runs").exists(), "{stdout}");
    assert!(!stdout.contains("training finished"), "{stdout}");
}

#[test]
fn multi_gpu_without_a_rendezvous_address_is_a_one_line_error() {
    let dir = toy_run_dir(&[]);
    let out = std::process::Command::new(rlhost_bin())
        .current_dir(dir.path())
        .args(["train", "--plugin-dir", ".", "--config", "toy.yaml", "params.config.multi_gpu=true"])
        .env("RANK", "0")
        .env("WORLD_SIZE", "2")
        .env_remove("MASTER_ADDR")
        .env_remove("MASTER_PORT")
        .output()
        .unwrap();
    let (_, stderr) = texts(&out);
    assert!(!out.status.success());
    assert_eq!(
        common::last_line(&stderr),
        "error: params.config.multi_gpu with WORLD_SIZE=2 needs MASTER_ADDR and MASTER_PORT (launch with torchrun)"
    );
}

//! Hostile files and careless values through the real `rlhost` binary (issue 18): every case ends
//! with an exit code (never a signal), one line naming the thing at fault, and nothing on disk lost.
mod common;

use common::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const TOY_CONFIG: &str = toy_config!("    player: {games_num: 2}\n");

/// Runs `rlhost` in `dir` with a scan cache of its own (see [`rlhost_in`]).
fn rlhost(dir: &Path, args: &[&str]) -> (i32, String, String) {
    rlhost_in(dir, args)
}

/// A folder with the toy plugin and `toy.yaml`.
fn toy_dir() -> tempfile::TempDir {
    let dir = plugin_dir(&[fixture("toy")]);
    std::fs::write(dir.path().join("toy.yaml"), TOY_CONFIG).unwrap();
    dir
}

/// Compiles C `source` into `dir/lib<name>.so`.
fn c_library(dir: &Path, name: &str, source: &str) -> PathBuf {
    let src = dir.join(format!("{name}.c"));
    std::fs::write(&src, source).unwrap();
    let lib = dir.join(format!("lib{name}.so"));
    let status = Command::new("cc").args(["-shared", "-fPIC", "-o"]).arg(&lib).arg(&src).status().expect("cc runs");
    assert!(status.success(), "cc {name}");
    std::fs::remove_file(src).unwrap();
    lib
}

fn constructor(body: &str) -> String {
    format!("#include <stdlib.h>\n__attribute__((constructor)) static void boom(void) {{ {body} }}\n")
}

/// Every file under `dir` with its bytes.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap().flatten() {
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                files.insert(p.strip_prefix(dir).unwrap().to_path_buf(), std::fs::read(&p).unwrap());
            }
        }
    }
    files
}

/// Asserts every file of `before` is still in `dir` with the same bytes.
fn nothing_lost(dir: &Path, before: &BTreeMap<PathBuf, Vec<u8>>) {
    let now = snapshot(dir);
    for (path, bytes) in before {
        assert!(now.get(path) == Some(bytes), "{} was lost or changed", path.display());
    }
}

fn train(dir: &Path, extra: &[&str]) -> (i32, String, String) {
    let mut args = vec!["train", "--plugin-dir", ".", "--config", "toy.yaml"];
    args.extend_from_slice(extra);
    rlhost(dir, &args)
}

#[test]
fn truncated_and_crashing_plugins_are_one_refusal_each_and_every_command_survives() {
    let dir = toy_dir();
    let d = dir.path();
    c_library(d, "abort", &constructor("abort();"));
    c_library(d, "segv", &constructor("*(volatile int *)0 = 1;"));
    c_library(d, "exit3", &constructor("exit(3);"));
    let good = std::fs::read(fixture("toy_twin")).unwrap();
    std::fs::write(d.join("libtruncated.so"), &good[..good.len() / 2]).unwrap();
    let before = snapshot(d);

    let expected = [
        ("./libabort.so", "crashed while loading: killed by signal 6 (SIGABRT)"),
        ("./libexit3.so", "exited with code 3 while loading"),
        ("./libsegv.so", "crashed while loading: killed by signal 11 (SIGSEGV)"),
        ("./libtruncated.so", "crashed while loading: killed by signal "),
    ];
    let (code, table, stderr) = rlhost(d, &["plugins", "--plugin-dir", "."]);
    assert_eq!(code, 0, "{stderr}");
    assert!(table.lines().any(|l| l.starts_with("org.rlhost.test.toy ") && l.ends_with("ok")), "{table}");
    for (file, reason) in expected {
        let row = table.lines().find(|l| l.contains(file)).unwrap_or_else(|| panic!("{file}: {table}"));
        assert!(row.contains(&format!("refused: {reason}")), "{row}");
    }

    let (code, stdout, stderr) = train(d, &["--experiment", "x"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let warnings: Vec<&str> = stderr.lines().filter(|l| l.starts_with("warning: refused plugin")).collect();
    assert_eq!(warnings.len(), 4, "{stderr}");
    for (file, reason) in expected {
        assert!(
            warnings.iter().any(|w| w.starts_with(&format!("warning: refused plugin {file}: {reason}"))),
            "{stderr}"
        );
    }
    assert!(d.join("runs/x/nn/toy.json").is_file());
    let (code, stdout, stderr) =
        rlhost(d, &["play", "--plugin-dir", ".", "-f", "toy.yaml", "-c", "runs/x/nn/toy.json"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains("played 2 games"), "{stdout}");
    nothing_lost(d, &before);

    // Verdicts are cached by path, size and mtime: the same table again, from the cache.
    let cache: serde_json::Value = serde_json::from_slice(&std::fs::read(d.join("scan-cache.json")).unwrap()).unwrap();
    assert_eq!(cache["entries"].as_object().unwrap().len(), 5, "{cache}");
    assert_eq!(rlhost(d, &["plugins", "--plugin-dir", "."]).1, table);
    // A corrupt cache is ignored and rewritten.
    std::fs::write(d.join("scan-cache.json"), "{ not json").unwrap();
    assert_eq!(rlhost(d, &["plugins", "--plugin-dir", "."]).1, table);
    let cache: serde_json::Value = serde_json::from_slice(&std::fs::read(d.join("scan-cache.json")).unwrap()).unwrap();
    assert_eq!(cache["entries"].as_object().unwrap().len(), 5);
    // A file that changes is probed again: the crashing file replaced by a good plugin loads.
    std::fs::write(d.join("libexit3.so"), &good).unwrap();
    let (code, table, _) = rlhost(d, &["plugins", "--plugin-dir", "."]);
    assert_eq!(code, 0);
    let row = table.lines().find(|l| l.contains("./libexit3.so")).unwrap();
    assert!(row.starts_with("org.rlhost.test.toy-twin ") && row.ends_with("ok"), "{row}");
}

#[test]
fn reusing_an_experiment_name_is_refused_and_resuming_appends() {
    let dir = toy_dir();
    let d = dir.path();
    assert_eq!(train(d, &["--experiment", "x"]).0, 0);
    let run = d.join("runs/x");
    let before = snapshot(&run);
    let refusal = "error: run folder runs/x already holds a run: pick another experiment name (--experiment) or resume it with --checkpoint";
    let (code, _, stderr) = train(d, &["--experiment", "x"]);
    assert_eq!((code, last_line(&stderr)), (1, refusal));
    let (code, _, stderr) = train(d, &["params.config.full_experiment_name=x"]);
    assert_eq!((code, last_line(&stderr)), (1, refusal));
    assert_eq!(snapshot(&run), before, "the refused runs touched nothing");

    // Resuming continues in the folder: rows appended, frames continuing, a second event file.
    let (code, stdout, stderr) = train(d, &["--experiment", "x", "-c", "runs/x/nn/toy.json", "--max-iterations", "5"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let old = String::from_utf8(before[Path::new("summaries/episodes.csv")].clone()).unwrap();
    let episodes = std::fs::read_to_string(run.join("summaries/episodes.csv")).unwrap();
    assert!(episodes.starts_with(&old), "appended: {episodes}");
    assert_eq!(episodes.matches("frame,env").count(), 1, "one header");
    let new_frames: Vec<&str> = episodes[old.len()..].lines().map(|l| l.split(',').next().unwrap()).collect();
    assert_eq!(new_frames, ["60", "60", "60", "75", "75", "75"], "frames continue from the checkpoint's 45");
    let events =
        snapshot(&run.join("summaries")).into_keys().filter(|p| p.to_string_lossy().contains("tfevents")).count();
    assert_eq!(events, 2);
    assert!(run.join("params/config.2.yaml").is_file());
    let before_nn: Vec<_> = before.keys().filter(|p| !p.starts_with("nn") && !p.ends_with("episodes.csv")).collect();
    let now = snapshot(&run);
    for p in before_nn {
        assert_eq!(now.get(p), before.get(p), "{} kept", p.display());
    }
}

#[test]
fn latest_and_best_match_exact_experiment_names() {
    let dir = toy_dir();
    let d = dir.path();
    let put = |path: &str| {
        let p = d.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, "{}").unwrap();
        std::thread::sleep(Duration::from_millis(20));
    };
    put("runs/pend_01-02-03-04/nn/pend.safetensors");
    put("runs/pend/nn/last_pend_ep_3.safetensors");
    put("runs/pendulum_01-02-03-04/nn/pend.safetensors");
    put("runs/pend_01-02-03-04_copy/nn/last_pend_ep_9.safetensors");
    let play = |selector: &str, name: &str| {
        let over = format!("params.config.name={name}");
        rlhost(d, &["play", "--plugin-dir", ".", "-f", "toy.yaml", "-c", selector, &over])
    };
    let (code, stdout, stderr) = play("latest", "pend");
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("--checkpoint latest: runs/pend/nn/last_pend_ep_3.safetensors"), "{stdout}");
    let (code, stdout, _) = play("best", "pend");
    assert_eq!(code, 0);
    assert!(stdout.contains("--checkpoint best: runs/pend_01-02-03-04/nn/pend.safetensors"), "{stdout}");
    let (code, _, stderr) = play("latest", "pen");
    assert_eq!((code, last_line(&stderr)), (1, "error: no latest checkpoint for 'pen' under runs"));
}

#[test]
fn config_values_are_checked_naming_the_key() {
    let dir = toy_dir();
    let d = dir.path();
    let with = |file: &str, from: &str, to: &str| {
        assert!(TOY_CONFIG.contains(from));
        std::fs::write(d.join(file), TOY_CONFIG.replacen(from, to, 1)).unwrap();
    };
    let refused = |file: &str, extra: &[&str]| {
        let mut args = vec!["train", "--plugin-dir", ".", "-f", file, "--experiment", "v"];
        args.extend_from_slice(extra);
        let (code, _, stderr) = rlhost(d, &args);
        assert_eq!(code, 1, "{stderr}");
        assert!(!d.join("runs").exists(), "{file}: no run folder left");
        last_line(&stderr).to_string()
    };
    with(
        "dup.yaml",
        "    max_epochs: 3\n",
        "    max_epochs: 3\n    gamma: 0.99\n    minibatch_size: 8\n    gamma: 0.9\n",
    );
    assert_eq!(
        refused("dup.yaml", &[]),
        "error: config dup.yaml: duplicate key params.config.gamma (lines 12 and 14); write each key once"
    );
    with("nan.yaml", "max_epochs: 3", "max_epochs: 3\n    gamma: .nan");
    assert_eq!(
        refused("nan.yaml", &[]),
        "error: config nan.yaml: key params.config.gamma: .nan is not a number; write a number (line 12)"
    );
    with("device.yaml", "device: cpu", "device: 5");
    assert_eq!(
        refused("device.yaml", &[]),
        "error: config key params.config.device: expected a string such as 'cpu', 'cuda' or 'cuda:0', got a number 5"
    );
    let range = "expected a positive finite number (0 < x < inf)";
    for (value, shown) in [("-1", "-1"), ("0", "0"), (".inf", "\"inf\"")] {
        with("clip.yaml", "clip_observations: 0.5", &format!("clip_observations: {value}"));
        let line = refused("clip.yaml", &[]);
        assert_eq!(line, format!("error: config key params.env.clip_observations: {range}, got {shown}"));
    }
    let line = refused("toy.yaml", &["params.env.clip_actions=0"]);
    assert_eq!(line, format!("error: config key params.env.clip_actions: {range}, got 0"));
    // `.inf` where a plugin reads it stays the text "inf" instead of becoming null.
    with("inf.yaml", "max_epochs: 3", "max_epochs: 3\n    bounds_loss_coef: .inf\n    e_clip: -.inf");
    let (code, _, stderr) = rlhost(d, &["train", "--plugin-dir", ".", "-f", "inf.yaml", "--experiment", "inf"]);
    assert_eq!(code, 0, "{stderr}");
    let resolved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("runs/inf/params/config.json")).unwrap()).unwrap();
    assert_eq!(
        (&resolved["params"]["config"]["bounds_loss_coef"], &resolved["params"]["config"]["e_clip"]),
        (&"inf".into(), &"-inf".into())
    );
}

#[test]
fn stale_temporary_checkpoints_are_removed_and_failed_runs_leave_no_empty_folder() {
    let dir = toy_dir();
    let d = dir.path();
    // A run that fails before writing anything removes the folders it created, `runs/` too.
    let (code, _, stderr) = train(d, &["--experiment", "early", "params.config.env_name=Nope"]);
    assert_eq!((code, last_line(&stderr)), (1, "error: unknown env 'Nope'; known env builders: ToyEnv"));
    assert!(!d.join("runs").exists());
    // One that wrote data keeps it.
    let (code, _, _) = train(d, &["--experiment", "late", "params.config.panic_at_epoch=2"]);
    assert_eq!(code, 1);
    assert!(std::fs::read_to_string(d.join("runs/late/summaries/episodes.csv")).unwrap().lines().count() > 1);

    assert_eq!(train(d, &["--experiment", "x"]).0, 0);
    let mut gone = Command::new("true").spawn().unwrap();
    let dead_pid = gone.id();
    gone.wait().unwrap();
    let nn = d.join("runs/x/nn");
    let stale = format!(".toy.safetensors.tmp{dead_pid}");
    let live = format!(".toy.safetensors.tmp{}", std::process::id());
    std::fs::write(nn.join(&stale), vec![7u8; 4096]).unwrap();
    std::fs::write(nn.join(&live), b"still being written").unwrap();
    let before = snapshot(&d.join("runs/x"));

    // A failed resume leaves the existing folder as it was (but for the stale file).
    let (code, _, stderr) = train(d, &["--experiment", "x", "-c", "runs/x/nn/toy.json", "params.config.env_name=Nope"]);
    assert_eq!(code, 1);
    let note = format!(
        "note: removed 1 leftover temporary checkpoint file from runs/x/nn (the process writing it is gone): {stale}"
    );
    assert!(stderr.lines().any(|l| l == note), "{stderr}");
    assert!(!nn.join(&stale).exists() && nn.join(&live).is_file());
    let kept: BTreeMap<_, _> = before.into_iter().filter(|(p, _)| !p.ends_with(&stale)).collect();
    nothing_lost(&d.join("runs/x"), &kept);
}

#[test]
fn limits_are_refused_quickly_with_one_line() {
    let dir = toy_dir();
    let d = dir.path();
    // A manifest id of 70,000 characters: the table cuts the cell instead of panicking.
    let huge = "#include <string.h>\nstatic char buf[80000];\nconst char *rlhost_plugin_manifest_json(void) {\n\
        if (!buf[0]) { strcpy(buf, \"{\\\"id\\\":\\\"\"); memset(buf + 7, 'x', 70000);\n\
        strcpy(buf + 70007, \"\\\",\\\"name\\\":\\\"n\\\",\\\"version\\\":\\\"1\\\",\\\"api_version\\\":\\\"9.0.0\\\",\\\"tch_version\\\":\\\"0.26.0\\\",\\\"libtorch_version\\\":\\\"2.13.0\\\",\\\"panic_unwind\\\":true}\"); }\n\
        return buf; }\n";
    c_library(d, "huge", huge);
    let (code, table, stderr) = rlhost(d, &["plugins", "--plugin-dir", "."]);
    assert_eq!(code, 0, "{stderr}");
    let row = table.lines().find(|l| l.contains("./libhuge.so")).unwrap();
    assert!(row.starts_with(&format!("{}…", "x".repeat(199))), "{}", &row[..300]);
    assert!(row.contains("refused: built for plugin API 9.0.0"), "{row}");
    assert!(table.lines().all(|l| l.chars().count() < 1000), "{table}");

    let (code, _, stderr) = train(d, &["--experiment", "t", "params.torch_threads=1000000"]);
    assert_eq!(code, 1);
    let line = last_line(&stderr);
    assert!(
        line.starts_with("error: config key params.torch_threads: 1000000 is more than this machine can use (at most "),
        "{line}"
    );

    // 200 KB nested 630 deep, and 100,000 nested brackets: refused at once, naming the file.
    let deep: String = (0..630).map(|i| format!("{}k:\n", " ".repeat(i))).collect();
    assert!(deep.len() > 190_000);
    std::fs::write(d.join("deep.yaml"), format!("params:\n{}", &deep)).unwrap();
    std::fs::write(d.join("flow.json"), format!("{{\"params\": {}{}}}", "[".repeat(100_000), "]".repeat(100_000)))
        .unwrap();
    for (file, line) in [("deep.yaml", 66), ("flow.json", 1)] {
        let started = Instant::now();
        let (code, _, stderr) = rlhost(d, &["train", "--plugin-dir", ".", "-f", file]);
        assert!(started.elapsed() < Duration::from_secs(20), "{file}: {:?}", started.elapsed());
        assert_eq!(
            (code, last_line(&stderr)),
            (1, format!("error: config {file}: nested deeper than 64 levels at line {line}").as_str())
        );
    }
    assert!(!d.join("runs").exists());
}

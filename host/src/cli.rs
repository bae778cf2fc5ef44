//! The command line: `rlhost train`, `rlhost play`, `rlhost plugins`, `rlhost bench`, `rlhost export`.
use crate::config;
use crate::discovery::{self, PluginSet};
use crate::registry::Registry;
use crate::run_dir::resolve_checkpoint;
use crate::runner::{Mode, Outcome, Runner};
use anyhow::Result;
use clap::{Args, Parser, Subcommand};
use serde_json::Value;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// rl_games' Runner as a plugin host.
#[derive(Debug, Parser)]
#[command(name = "rlhost", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Train an agent (rl_games `--train`).
    Train(TrainArgs),
    /// Play a trained policy (rl_games `--play`).
    Play(PlayArgs),
    /// List the plugins found and why any were refused.
    Plugins(PluginArgs),
    /// Measure env throughput, the plugin boundary and an epoch's time split.
    Bench(BenchArgs),
    /// Write a trained policy as an ONNX file, through its player plugin.
    Export(crate::export::ExportArgs),
    /// Internal: load one plugin file and print its verdict (the plugin scanner's child).
    #[command(name = "__probe", hide = true)]
    Probe {
        /// The library to load.
        file: PathBuf,
    },
}

/// `rlhost bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Config, plugins and overrides.
    #[command(flatten)]
    pub run: RunOptions,
    /// Training epochs to time (0 skips training).
    #[arg(long, default_value_t = 20)]
    pub epochs: u32,
    /// Environment batch sizes for the step benchmark.
    #[arg(long = "env-sizes", value_delimiter = ',', default_value = "256,4096,65536")]
    pub env_sizes: Vec<u32>,
    /// Steps timed per batch size.
    #[arg(long = "env-steps", default_value_t = 200)]
    pub env_steps: u32,
    /// Also write the report as JSON to this file.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
}

/// Where plugins come from.
#[derive(Debug, Args, Clone)]
pub struct PluginArgs {
    /// A folder of plugin libraries (also scans its `lib/`); repeatable. Default: `plugins`.
    #[arg(long = "plugin-dir", value_name = "DIR")]
    pub plugin_dirs: Vec<PathBuf>,
    /// Prefer this plugin id when several plugins offer a builder name; repeatable.
    #[arg(long = "plugin-id", value_name = "ID")]
    pub plugin_ids: Vec<String>,
    /// Show full load reports for refused plugins.
    #[arg(long, short)]
    pub verbose: bool,
}

/// Options shared by train and play.
#[derive(Debug, Args, Clone)]
pub struct RunOptions {
    /// Plugin folders and choices.
    #[command(flatten)]
    pub plugins: PluginArgs,
    /// The rl_games / Isaac Lab config file (YAML or JSON).
    #[arg(long, short = 'f', value_name = "FILE")]
    pub config: PathBuf,
    /// Restore this checkpoint first (`latest` or `best` pick from the run folders).
    #[arg(long, short = 'c', value_name = "PATH")]
    pub checkpoint: Option<String>,
    /// Set the fixed sigma parameter (a log-std) after restoring.
    #[arg(long, short = 's', allow_hyphen_values = true)]
    pub sigma: Option<f32>,
    /// Override `params.seed`.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Override `params.config.device` (`cpu`, `cuda`, `cuda:N`).
    #[arg(long)]
    pub device: Option<String>,
    /// Override `params.config.num_actors`.
    #[arg(long = "num-envs")]
    pub num_envs: Option<u32>,
    /// Generic overrides such as `params.config.gamma=0.98`.
    #[arg(value_name = "KEY=VALUE")]
    pub overrides: Vec<String>,
}

/// `rlhost train`.
#[derive(Debug, Args)]
pub struct TrainArgs {
    /// Config, plugins and overrides.
    #[command(flatten)]
    pub run: RunOptions,
    /// Override `params.config.max_epochs`.
    #[arg(long = "max-iterations")]
    pub max_iterations: Option<i64>,
    /// The experiment folder name under `train_dir` (rl_games' `full_experiment_name`).
    #[arg(long)]
    pub experiment: Option<String>,
}

/// `rlhost play`.
#[derive(Debug, Args)]
pub struct PlayArgs {
    /// Config, plugins and overrides.
    #[command(flatten)]
    pub run: RunOptions,
    /// Number of games to play (`params.config.player.games_num`).
    #[arg(long)]
    pub games: Option<u64>,
    /// Sample actions instead of acting with the mean.
    #[arg(long)]
    pub stochastic: bool,
}

/// Runs the parsed command; errors are reported by `main` as one line.
pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Plugins(args) => list_plugins(&args),
        Command::Train(args) => {
            let mut doc = load_doc(&args.run)?;
            if let Some(n) = args.max_iterations {
                config::set(&mut doc, "params.config.max_epochs", Value::from(n))?;
            }
            if let Some(name) = &args.experiment {
                config::set(&mut doc, "params.config.full_experiment_name", Value::from(name.clone()))?;
            }
            execute(Mode::Train, &args.run, doc)
        }
        Command::Bench(args) => bench(&args),
        Command::Export(args) => crate::export::export(&args),
        Command::Probe { file } => Ok(crate::probe::probe_main(&file)?),
        Command::Play(args) => {
            let mut doc = load_doc(&args.run)?;
            if let Some(n) = args.games {
                config::set(&mut doc, "params.config.player.games_num", Value::from(n))?;
            }
            if args.stochastic {
                config::set(&mut doc, "params.config.player.deterministic", Value::from(false))?;
            }
            execute(Mode::Play, &args.run, doc)
        }
    }
}

/// Reads the config and applies the command-line overrides, in Isaac Lab's order.
pub(crate) fn load_doc(opts: &RunOptions) -> Result<Value> {
    let mut doc = config::load_file(&opts.config)?;
    if let Some(n) = opts.num_envs {
        config::set(&mut doc, "params.config.num_actors", Value::from(n))?;
    }
    if let Some(seed) = opts.seed {
        config::set(&mut doc, "params.seed", Value::from(seed))?;
        if config::get(&doc, "params.config.env_config").is_some() {
            config::set(&mut doc, "params.config.env_config.seed", Value::from(seed))?;
        }
    }
    if let Some(device) = &opts.device {
        config::set(&mut doc, "params.config.device", Value::from(device.clone()))?;
    }
    for text in &opts.overrides {
        config::apply_override(&mut doc, text)?;
    }
    Ok(doc)
}

/// Warns about config keys that neither the host nor the config's builders declare.
pub fn warn_unknown_keys(config_path: &std::path::Path, doc: &Value, registry: &Registry<'_>) {
    let declared = crate::config_schema::KeyTree::new(&registry.declared_keys(doc));
    for warning in config::unknown_key_warnings(doc, &declared) {
        eprintln!("warning: {}: {warning}", config_path.display());
    }
}

/// Loads plugins, reporting refused files as one line each.
pub fn load_plugins(args: &PluginArgs) -> PluginSet {
    let mut dirs = discovery::plugin_dirs(&args.plugin_dirs);
    if dirs.is_empty() {
        dirs.push(PathBuf::from("plugins"));
    }
    let set = crate::probe::discover_with_scanner(&dirs);
    for refused in &set.refused {
        eprintln!("warning: {}", refused.line());
        if args.verbose && !refused.detail.is_empty() {
            eprintln!("{}", refused.detail);
        }
    }
    set
}

fn execute(mode: Mode, opts: &RunOptions, doc: Value) -> Result<()> {
    let set = load_plugins(&opts.plugins);
    let registry = Registry::new(&set.loaded, &opts.plugins.plugin_ids);
    warn_unknown_keys(&opts.config, &doc, &registry);
    let checkpoint = match &opts.checkpoint {
        Some(sel) => Some(checkpoint_path(sel, &doc)?),
        None => None,
    };
    let stop = Arc::new(AtomicBool::new(false));
    install_ctrlc(Arc::clone(&stop));
    let runner = load_runner(opts, registry, doc, stop)?;
    match runner.run(mode, checkpoint.as_deref(), opts.sigma)? {
        // Across processes rank 0 alone reports (and holds the run folder).
        Outcome::Trained { .. } if !runner.is_leader() => {}
        Outcome::Trained { summary, run_dir, .. } => {
            let how = if summary.interrupted { "interrupted" } else { "finished" };
            println!(
                "training {how} at epoch {} after {} frames; best reward {:.2}; run folder {}",
                summary.epoch,
                summary.frame,
                summary.best_reward,
                run_dir.display()
            );
        }
        Outcome::Played(stats) => {
            println!(
                "played {} games: mean reward {:.3}, mean steps {:.1}",
                stats.games, stats.mean_reward, stats.mean_steps
            );
        }
    }
    Ok(())
}

/// The runner for `opts`: the config file's folder (Python envs import from it) and `--verbose`.
fn load_runner<'p>(opts: &RunOptions, registry: Registry<'p>, doc: Value, stop: Arc<AtomicBool>) -> Result<Runner<'p>> {
    Ok(Runner::load(registry, doc, stop)?
        .with_config_dir(opts.config.parent().map(std::path::Path::to_path_buf))
        .verbose(opts.plugins.verbose))
}

/// `--checkpoint P|latest|best`: the file, where `latest` and `best` look in the run folders of
/// `params.config.name` (printing the one chosen).
pub fn checkpoint_path(sel: &str, doc: &Value) -> Result<PathBuf> {
    let name = config::require_str(doc, "params.config.name")?;
    let train_dir = config::get(doc, "params.config.train_dir").and_then(Value::as_str).unwrap_or("runs");
    let experiment = config::get(doc, "params.config.full_experiment_name").and_then(Value::as_str);
    let path = resolve_checkpoint(sel, std::path::Path::new(train_dir), name, experiment)?;
    if sel == "latest" || sel == "best" {
        println!("--checkpoint {sel}: {}", path.display());
    }
    Ok(path)
}

fn bench(args: &BenchArgs) -> Result<()> {
    let mut doc = load_doc(&args.run)?;
    let train_dir = std::env::temp_dir().join(format!("rlhost-bench-{}", std::process::id()));
    config::set(&mut doc, "params.config.train_dir", Value::from(train_dir.to_string_lossy().into_owned()))?;
    config::set(&mut doc, "params.config.full_experiment_name", Value::from("bench"))?;
    config::set(&mut doc, "params.config.max_epochs", Value::from(args.epochs))?;
    config::set(&mut doc, "params.config.print_stats", Value::from(false))?;
    let set = load_plugins(&args.run.plugins);
    let registry = Registry::new(&set.loaded, &args.run.plugins.plugin_ids);
    warn_unknown_keys(&args.run.config, &doc, &registry);
    let runner = load_runner(&args.run, registry, doc, Arc::new(AtomicBool::new(false)))?.without_progress();
    let plan =
        crate::bench::BenchPlan { env_sizes: args.env_sizes.clone(), env_steps: args.env_steps, epochs: args.epochs };
    let envs = crate::bench::env_throughput(&runner, &plan)?;
    let boundary = crate::bench::boundary_call_ns(&runner)?;
    let split = if plan.epochs > 0 { Some(crate::bench::epoch_split(&runner)?) } else { None };
    let _ = std::fs::remove_dir_all(&train_dir);
    println!("{}", crate::bench::to_table(&envs, boundary, split.as_ref()));
    if let Some(path) = &args.json {
        let report = crate::bench::to_json(&envs, boundary, split.as_ref(), runner.doc());
        std::fs::write(path, serde_json::to_string_pretty(&report)?)
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
    }
    Ok(())
}

/// First Ctrl-C asks the agent to save and stop; a second one exits at once.
fn install_ctrlc(stop: Arc<AtomicBool>) {
    let _ = ctrlc::set_handler(move || {
        if stop.swap(true, Ordering::SeqCst) {
            eprintln!("interrupted twice: exiting without saving");
            std::process::exit(130);
        }
        eprintln!("interrupt: saving a checkpoint and stopping after this epoch (Ctrl-C again to quit now)");
    });
}

/// `rlhost plugins`: one row per file.
fn list_plugins(args: &PluginArgs) -> Result<()> {
    let mut dirs = discovery::plugin_dirs(&args.plugin_dirs);
    if dirs.is_empty() {
        dirs.push(PathBuf::from("plugins"));
    }
    let set = crate::probe::discover_with_scanner(&dirs);
    let mut rows = vec![["ID", "VERSION", "API", "FILE", "BUILDERS", "STATUS"].map(String::from)];
    for p in &set.loaded {
        let builders = p
            .builders
            .iter()
            .map(|b| format!("{}:{}", b.kind().map_or("unknown", |k| k.as_str()), b.name))
            .collect::<Vec<_>>()
            .join(" ");
        rows.push([
            p.manifest.id.clone(),
            p.manifest.version.clone(),
            p.manifest.api_version.clone(),
            p.path.display().to_string(),
            builders,
            "ok".to_string(),
        ]);
    }
    for r in &set.refused {
        let (id, version, api) = match &r.manifest {
            Some(m) => (m.id.clone(), m.version.clone(), m.api_version.clone()),
            None => ("-".into(), "-".into(), "-".into()),
        };
        rows.push([
            id,
            version,
            api,
            r.path.display().to_string(),
            "-".into(),
            format!("refused: {} (hint: {})", r.reason, r.hint),
        ]);
        if args.verbose && !r.detail.is_empty() {
            eprintln!("{}:\n{}", r.path.display(), r.detail);
        }
    }
    for row in rows.iter_mut() {
        row.iter_mut().for_each(|cell| *cell = table_cell(cell));
    }
    let widths: Vec<usize> = (0..6).map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0)).collect();
    for row in &rows {
        let line: Vec<String> = row
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(i, (cell, w))| if i == 5 { cell.clone() } else { format!("{cell:<w$}") })
            .collect();
        println!("{}", line.join("  ").trim_end());
    }
    if set.loaded.is_empty() && set.refused.is_empty() {
        println!(
            "no plugin libraries found in {}",
            dirs.iter().map(|d| d.display().to_string()).collect::<Vec<_>>().join(", ")
        );
    }
    Ok(())
}

/// The widest a table cell is printed; longer text is cut with an ellipsis.
pub const MAX_CELL_CHARS: usize = 200;

/// `text` cut to [`MAX_CELL_CHARS`] characters, on one line.
pub fn table_cell(text: &str) -> String {
    let one_line = text.replace(['\n', '\r', '\t'], " ");
    if one_line.chars().count() <= MAX_CELL_CHARS {
        return one_line;
    }
    let mut cut: String = one_line.chars().take(MAX_CELL_CHARS - 1).collect();
    cut.push('…');
    cut
}

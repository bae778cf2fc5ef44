//! The host's observer: console lines, progress, TensorBoard scalars, episode results, Ctrl-C.
use crate::tensorboard::EventWriter;
use indicatif::{ProgressBar, ProgressStyle};
use rlhost_plugin_api::abi_stable::sabi_trait::TD_Opaque;
use rlhost_plugin_api::abi_stable::std_types::{RSlice, RStr};
use rlhost_plugin_api::observer::EpochProgress;
use rlhost_plugin_api::{Observer, ObserverBox, Observer_TO, Scalar};
use std::collections::{BTreeMap, VecDeque};
use std::fs::File;
use std::io::{BufWriter, IsTerminal, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// How many finished episodes the progress display averages over (rl_games' games_to_track).
const EPISODE_WINDOW: usize = 100;

/// Episodes that finished on one environment step, as the host's env wrapper saw them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EpisodeBatch {
    /// Frames stepped so far (env steps × number of envs), including this step.
    pub frame: u64,
    /// Index of each environment that finished.
    pub envs: Vec<i64>,
    /// Raw return of each episode.
    pub returns: Vec<f32>,
    /// Length of each episode.
    pub lengths: Vec<f32>,
    /// Whether it was the environment's first episode since reset (partial with staggered starts).
    pub first: Vec<bool>,
}

/// Shared state behind every observer handle given to plugins.
pub struct HostObserver {
    events: Mutex<Option<EventWriter>>,
    episodes: Mutex<EpisodeWindow>,
    progress: Option<ProgressBar>,
    started: Instant,
    stop: Arc<AtomicBool>,
    /// Write errors are reported once, not on every scalar.
    tb_failed: AtomicBool,
    /// Every scalar received, by tag, in arrival order (benchmarks read them back).
    series: Mutex<BTreeMap<String, Vec<f64>>>,
    /// `episodes.csv` in the summaries folder: one row per finished episode.
    episode_log: Mutex<Option<BufWriter<File>>>,
    /// The last epoch an algorithm reported (the x axis of per-epoch extras).
    last_epoch: std::sync::atomic::AtomicU64,
    /// Called at the end of every epoch (the Python module's `AlgoObserver` bridge).
    epoch_listener: std::sync::OnceLock<EpochListener>,
}

/// A callback at the end of every training epoch, with the observer (to write scalars).
pub type EpochListener = Arc<dyn Fn(&HostObserver, &EpochProgress) + Send + Sync>;

/// Recent episode returns and lengths.
#[derive(Default)]
pub struct EpisodeWindow {
    returns: VecDeque<f32>,
    lengths: VecDeque<f32>,
    /// Episodes finished since the start.
    pub total: u64,
}

impl EpisodeWindow {
    fn push(&mut self, ret: f32, len: f32) {
        if self.returns.len() == EPISODE_WINDOW {
            self.returns.pop_front();
            self.lengths.pop_front();
        }
        self.returns.push_back(ret);
        self.lengths.push_back(len);
        self.total += 1;
    }

    /// Mean return of the window, or NaN when empty.
    pub fn mean_return(&self) -> f64 {
        mean(&self.returns)
    }

    /// Mean length of the window, or NaN when empty.
    pub fn mean_length(&self) -> f64 {
        mean(&self.lengths)
    }
}

fn mean(values: &VecDeque<f32>) -> f64 {
    if values.is_empty() {
        f64::NAN
    } else {
        values.iter().map(|&v| f64::from(v)).sum::<f64>() / values.len() as f64
    }
}

impl HostObserver {
    /// An observer writing TensorBoard files to `summaries` (if given), with a progress bar on
    /// a terminal and plain lines otherwise.
    pub fn new(summaries: Option<&Path>, stop: Arc<AtomicBool>, show_progress: bool) -> anyhow::Result<Arc<Self>> {
        let (events, episode_log) = match summaries {
            Some(dir) => {
                let events = EventWriter::create(dir)
                    .map_err(|e| anyhow::anyhow!("cannot create TensorBoard file in {}: {e}", dir.display()))?;
                let path = dir.join("episodes.csv");
                let log =
                    open_episode_log(&path).map_err(|e| anyhow::anyhow!("cannot open {}: {e}", path.display()))?;
                (Some(events), Some(log))
            }
            None => (None, None),
        };
        let progress = (show_progress && std::io::stderr().is_terminal()).then(|| {
            let bar = ProgressBar::new(0);
            bar.set_style(
                ProgressStyle::with_template("{spinner} epoch {pos}/{len} {wide_msg} [{elapsed_precise} < {eta}]")
                    .expect("valid template"),
            );
            bar
        });
        Ok(Arc::new(HostObserver {
            epoch_listener: std::sync::OnceLock::new(),
            events: Mutex::new(events),
            episodes: Mutex::new(EpisodeWindow::default()),
            progress,
            started: Instant::now(),
            stop,
            tb_failed: AtomicBool::new(false),
            series: Mutex::new(BTreeMap::new()),
            episode_log: Mutex::new(episode_log),
            last_epoch: std::sync::atomic::AtomicU64::new(0),
        }))
    }

    /// A boxed handle for a plugin.
    pub fn handle(self: &Arc<Self>) -> ObserverBox {
        Observer_TO::from_value(ObserverHandle(Arc::clone(self)), TD_Opaque)
    }

    /// Mean return of the recent episodes (NaN before any).
    pub fn mean_return(&self) -> f64 {
        self.episodes.lock().expect("episode lock").mean_return()
    }

    /// Episodes finished so far.
    pub fn episodes_finished(&self) -> u64 {
        self.episodes.lock().expect("episode lock").total
    }

    /// Records episodes a plugin reports (returns and lengths only).
    pub fn record_returns(&self, returns: &[f32], lengths: &[f32]) {
        let mut window = self.episodes.lock().expect("episode lock");
        for (&r, &l) in returns.iter().zip(lengths) {
            window.push(r, l);
        }
    }

    /// Records the episodes the env wrapper saw finish, and logs them to `episodes.csv`.
    pub fn record_episodes(&self, batch: &EpisodeBatch) {
        self.record_returns(&batch.returns, &batch.lengths);
        if let Some(log) = self.episode_log.lock().expect("episode log lock").as_mut() {
            for i in 0..batch.returns.len() {
                let _ = writeln!(
                    log,
                    "{},{},{},{},{}",
                    batch.frame,
                    batch.envs[i],
                    batch.returns[i],
                    batch.lengths[i],
                    u8::from(batch.first[i])
                );
            }
        }
    }

    /// Whether any scalar or episode reached this observer (a run with data is never removed).
    pub fn wrote_data(&self) -> bool {
        self.episodes_finished() > 0 || !self.series.lock().expect("series lock").is_empty()
    }

    /// Prints a line without tearing the progress bar.
    pub fn print(&self, text: &str) {
        match &self.progress {
            // Before the first epoch the bar has nothing to show yet: print plainly.
            Some(bar) if bar.length().unwrap_or(0) > 0 => bar.println(text),
            _ => println!("{text}"),
        }
    }

    /// Flushes TensorBoard and clears the progress bar.
    pub fn finish(&self) {
        if let Some(bar) = &self.progress {
            bar.finish_and_clear();
        }
        if let Some(writer) = self.events.lock().expect("events lock").as_mut() {
            let _ = writer.flush();
        }
        if let Some(log) = self.episode_log.lock().expect("episode log lock").as_mut() {
            let _ = log.flush();
        }
    }

    /// Every value received for each scalar tag so far.
    pub fn scalar_series(&self) -> BTreeMap<String, Vec<f64>> {
        self.series.lock().expect("series lock").clone()
    }

    /// The last epoch an algorithm reported (0 before the first).
    pub fn last_epoch(&self) -> u64 {
        self.last_epoch.load(Ordering::Relaxed)
    }

    /// Seconds since this observer was created.
    pub fn elapsed_s(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }

    /// Records scalars: the series kept for benchmarks, and TensorBoard.
    pub fn on_scalars(&self, values: &[Scalar]) {
        {
            let mut series = self.series.lock().expect("series lock");
            for s in values {
                series.entry(s.tag.to_string()).or_default().push(s.value);
            }
        }
        let mut guard = self.events.lock().expect("events lock");
        let Some(writer) = guard.as_mut() else { return };
        for s in values {
            if let Err(e) = writer.add_scalar(s.tag.as_str(), s.value as f32, s.step) {
                if !self.tb_failed.swap(true, Ordering::Relaxed) {
                    eprintln!("warning: TensorBoard write to {} failed: {e}", writer.path().display());
                }
            }
        }
    }

    /// Installs the end-of-epoch callback (once; later calls are ignored).
    pub fn set_epoch_listener(&self, listener: EpochListener) {
        let _ = self.epoch_listener.set(listener);
    }

    fn on_epoch(&self, p: EpochProgress) {
        self.last_epoch.store(p.epoch, Ordering::Relaxed);
        if let Some(listener) = self.epoch_listener.get() {
            listener(self, &p);
        }
        if let Some(writer) = self.events.lock().expect("events lock").as_mut() {
            let _ = writer.flush();
        }
        if let Some(log) = self.episode_log.lock().expect("episode log lock").as_mut() {
            let _ = log.flush();
        }
        let reward = if p.mean_reward.is_nan() { self.mean_return() } else { p.mean_reward };
        let reward = if reward.is_nan() { "-".to_string() } else { format!("{reward:.2}") };
        let message = format!("frames {} fps {:.0} mean reward {reward}", p.frame, p.fps_total);
        match &self.progress {
            Some(bar) => {
                bar.set_length(if p.max_epochs > 0 { p.max_epochs as u64 } else { p.epoch });
                bar.set_position(p.epoch);
                bar.set_message(message);
            }
            None => {
                let of = if p.max_epochs > 0 { format!("/{}", p.max_epochs) } else { String::new() };
                let left = eta(self.started.elapsed().as_secs_f64(), p);
                println!(
                    "progress: epoch {}{of} {message} elapsed {:.0}s{left}",
                    p.epoch,
                    self.started.elapsed().as_secs_f64()
                );
            }
        }
    }
}

/// Opens `episodes.csv` for appending: the header goes only into a new or empty file, and a row
/// an earlier process left unfinished is ended first, so resumed runs continue the same table.
fn open_episode_log(path: &Path) -> std::io::Result<BufWriter<File>> {
    let mut file = std::fs::OpenOptions::new().create(true).append(true).read(true).open(path)?;
    let len = file.metadata()?.len();
    if len == 0 {
        writeln!(file, "frame,env,return,length,first_episode")?;
    } else {
        use std::io::{Read, Seek, SeekFrom};
        let mut last = [0u8; 1];
        file.seek(SeekFrom::Start(len - 1))?;
        file.read_exact(&mut last)?;
        if last[0] != b'\n' {
            writeln!(file)?;
        }
    }
    Ok(BufWriter::new(file))
}

/// " left ~Ns" from the epoch or frame limit, whichever is known.
fn eta(elapsed: f64, p: EpochProgress) -> String {
    let fraction = if p.max_epochs > 0 {
        p.epoch as f64 / p.max_epochs as f64
    } else if p.max_frames > 0 {
        p.frame as f64 / p.max_frames as f64
    } else {
        return String::new();
    };
    if fraction <= 0.0 {
        return String::new();
    }
    format!(" left ~{:.0}s", (elapsed / fraction - elapsed).max(0.0))
}

struct ObserverHandle(Arc<HostObserver>);

impl Observer for ObserverHandle {
    fn scalars(&self, values: RSlice<'_, Scalar>) {
        self.0.on_scalars(values.as_slice());
    }

    fn message(&self, text: RStr<'_>) {
        self.0.print(text.as_str());
    }

    fn epoch(&self, progress: EpochProgress) {
        self.0.on_epoch(progress);
    }

    fn should_stop(&self) -> bool {
        self.0.stop.load(Ordering::Relaxed)
    }
}

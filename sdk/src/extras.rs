//! Collecting an environment's extras between two `take_extras` calls.
use rlhost_plugin_api::{EnvExtra, ExtraKind, ExtraKind_NE};
use std::collections::BTreeMap;

/// An environment's extras as the contract reports them: plain per-step scalars keep their
/// latest value, episode statistics (Isaac Lab's `extras["log"]`) their sum and count.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct ExtrasCollector {
    log: BTreeMap<String, f64>,
    episode: BTreeMap<String, (f64, u64)>,
}

impl ExtrasCollector {
    /// Records a plain per-step scalar; a later value replaces it.
    pub fn log(&mut self, name: &str, value: f64) {
        self.log.insert(name.to_string(), value);
    }

    /// Records `count` values of an episode statistic summing to `sum` (Isaac Lab's `extras["log"]`).
    pub fn episode(&mut self, name: &str, sum: f64, count: u64) {
        let entry = self.episode.entry(name.to_string()).or_insert((0.0, 0));
        entry.0 += sum;
        entry.1 += count;
    }

    /// Everything since the last call, logs first, each sorted by name; then starts afresh.
    pub fn take(&mut self) -> Vec<EnvExtra> {
        let logs = std::mem::take(&mut self.log).into_iter().map(|(name, value)| EnvExtra {
            kind: ExtraKind_NE::new(ExtraKind::Log),
            name: name.into(),
            value,
            count: 1,
        });
        let episodes =
            std::mem::take(&mut self.episode).into_iter().filter(|(_, (_, n))| *n > 0).map(|(name, (sum, count))| {
                EnvExtra {
                    kind: ExtraKind_NE::new(ExtraKind::Episode),
                    name: name.into(),
                    value: sum / count as f64,
                    count,
                }
            });
        logs.chain(episodes).collect()
    }
}

//! stub
fn manifest() -> rlhost_sdk::api::PluginManifest {
    rlhost_sdk::manifest("org.rlhost.classic_control", "Classic control", env!("CARGO_PKG_VERSION"), "stub")
}
rlhost_sdk::export_plugin! {
    manifest: manifest,
    algos: [],
    players: [],
    envs: [],
}

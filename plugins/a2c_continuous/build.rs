fn main() {
    rlhost_build::link_libtorch();
    // Test and example binaries link this crate's rlib together with the classic_control rlib;
    // both define the plugin export symbols of `export_plugin!` (the manifest JSON symbol and
    // abi_stable's root-module header). Nothing calls them in those binaries, so either copy is fine.
    println!("cargo:rustc-link-arg-tests=-Wl,--allow-multiple-definition");
    println!("cargo:rustc-link-arg-examples=-Wl,--allow-multiple-definition");
}

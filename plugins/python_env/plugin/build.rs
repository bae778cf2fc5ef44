fn main() {
    rlhost_build::link_libtorch();
    // libpython is this plugin's dependency: find it without LD_LIBRARY_PATH.
    rlhost_build::link_libpython(&std::env::var("PYO3_PYTHON").unwrap_or_else(|_| "python3".to_string()));
}

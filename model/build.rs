fn main() {
    // This crate's own test binaries load libtorch: give them its rpath (see rlhost-build).
    rlhost_build::link_libtorch();
}

fn main() {
    rlhost_build::link_libtorch();
}

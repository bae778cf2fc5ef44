//! rlhost

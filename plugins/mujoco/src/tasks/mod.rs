//! The five Gymnasium v5 locomotion tasks.
pub mod ant;
pub mod half_cheetah;
pub mod hopper;
pub mod humanoid;
mod planar;
pub mod walker2d;

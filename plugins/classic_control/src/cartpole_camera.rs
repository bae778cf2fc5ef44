//! `CartPoleCamera`: [`CartPoleContinuous`](crate::cartpole) observed through a camera, as Isaac
//! Lab's camera cart-pole task observes it: each observation is a (100, 100, 3) uint8 RGB image of
//! the cart and pole rendered from the state, on the env's device, instead of the state vector.
//! Dynamics, reward, termination and limits are the cart-pole's.
//!
//! The view spans 6 m across (x in [−3, 3], the track's ±2.4 m limits inside it) and 6 m up;
//! the cart is a black 0.6 × 0.3 m box centred 0.5 m below the middle, the pole a tan segment of
//! its full 1 m length and 0.12 m width from the cart's centre, on a white background. Pixels are
//! lit where their centre lies inside a shape.
use crate::cartpole::CartPole;
use crate::dynamics::{col, Dynamics, Spec, Transition};
use tch::{Kind, Tensor};

/// The name configs use for this environment.
pub const NAME: &str = "CartPoleCamera";

/// Image height and width in pixels (Isaac Lab's camera cart-pole uses 100 × 100).
pub const IMAGE_SIZE: i64 = 100;
/// Metres across the view.
const VIEW: f64 = 6.0;
const CART_HALF_WIDTH: f64 = 0.3;
const CART_HALF_HEIGHT: f64 = 0.15;
const CART_Y: f64 = -0.5;
/// Gymnasium's `length` is half the pole: the drawn pole is 2 × 0.5 m.
const POLE_LENGTH: f64 = 1.0;
const POLE_HALF_WIDTH: f64 = 0.06;
const POLE_RGB: [i64; 3] = [204, 153, 102];

/// The camera-observed cart-pole.
#[derive(Debug, Clone, Copy, Default)]
pub struct CartPoleCamera;

impl Dynamics for CartPoleCamera {
    fn spec() -> Spec {
        Spec { name: NAME, ..CartPole::spec() }
    }

    fn initial_state(u: &Tensor) -> Tensor {
        CartPole::initial_state(u)
    }

    fn step(state: &Tensor, action: &Tensor) -> Transition {
        CartPole::step(state, action)
    }

    fn observe(state: &Tensor) -> Tensor {
        render(state)
    }

    fn image_shape() -> Option<[i64; 3]> {
        Some([IMAGE_SIZE, IMAGE_SIZE, 3])
    }
}

/// (N, 4) float64 states → (N, H, W, 3) uint8 images.
pub fn render(state: &Tensor) -> Tensor {
    let opts = (Kind::Double, state.device());
    let scale = IMAGE_SIZE as f64 / VIEW;
    // World coordinates of the pixel centres: x grows to the right, y upwards.
    let centres = (Tensor::arange(IMAGE_SIZE, opts) + 0.5) / scale;
    let wx = (&centres - VIEW / 2.0).view([1, 1, -1]);
    let wy = (centres.neg() + VIEW / 2.0).view([1, -1, 1]);
    let x = col(state, 0).view([-1, 1, 1]);
    let theta = col(state, 2).view([-1, 1, 1]);
    let dx = &wx - &x;
    let dy = &wy - CART_Y;
    let cart = dx.abs().le(CART_HALF_WIDTH).logical_and(&dy.abs().le(CART_HALF_HEIGHT));
    // Distance from the pole's axis (direction (sin θ, cos θ) from the cart's centre), clamped to
    // the segment.
    let (sin, cos) = (theta.sin(), theta.cos());
    let along = (&dx * &sin + &dy * &cos).clamp(0.0, POLE_LENGTH);
    let off_x = &dx - &along * &sin;
    let off_y = &dy - &along * &cos;
    let pole = (off_x.square() + off_y.square()).le(POLE_HALF_WIDTH * POLE_HALF_WIDTH);
    let channels: Vec<Tensor> = POLE_RGB
        .iter()
        .map(|&c| {
            let background = cart.logical_not().to_kind(Kind::Int64) * 255;
            background.where_self(&pole.logical_not(), &Tensor::from(c).to_device(state.device()))
        })
        .collect();
    Tensor::stack(&channels, -1).to_kind(Kind::Uint8)
}

//! `CartPoleCamera`: the cart-pole's run, observed as uint8 RGB images of the cart and pole.
mod common;

use common::{actions, buffers, env, max_abs_diff};
use rlhost_classic_control::cartpole::CartPole;
use rlhost_classic_control::cartpole_camera::{render, CartPoleCamera, IMAGE_SIZE};
use rlhost_sdk::api::DlDataType;
use rlhost_sdk::NativeVecEnv;
use tch::{Device, Kind, Tensor};

/// The mean column of the pixels of colour `rgb` in image `i`, `None` when there are none.
fn mean_column(images: &Tensor, i: i64, rgb: [i64; 3]) -> Option<f64> {
    let img = images.get(i).to_kind(Kind::Int64);
    let target = Tensor::from_slice(&rgb).view([1, 1, 3]);
    let hit = img.eq_tensor(&target).all_dim(-1, false);
    let count = hit.sum(Kind::Int64).int64_value(&[]);
    (count > 0).then(|| {
        let cols = Tensor::arange(IMAGE_SIZE, (Kind::Double, Device::Cpu)).view([1, -1]);
        (hit.to_kind(Kind::Double) * cols).sum(Kind::Double).double_value(&[]) / count as f64
    })
}

#[test]
fn observations_are_uint8_images_of_the_state_and_the_run_is_the_cart_poles() {
    let (n, seed) = (4, 3);
    let mut camera = env::<CartPoleCamera>(n, seed, None);
    let mut plain = env::<CartPole>(n, seed, None);
    let spec = &camera.info().observations[0];
    assert_eq!((spec.dtype, spec.shape.to_vec()), (DlDataType::U8, vec![IMAGE_SIZE, IMAGE_SIZE, 3]));
    let (mut cam_out, mut plain_out) = (buffers(&camera), buffers(&plain));
    for t in 0..60 {
        let a = actions(n as i64, t);
        camera.step(&a, &mut cam_out).unwrap();
        plain.step(&a, &mut plain_out).unwrap();
        // The same physics, resets and rewards as CartPoleContinuous...
        assert!(max_abs_diff(&camera.state(), &plain.state()) == 0.0, "step {t}");
        assert!(cam_out.rewards().equal(plain_out.rewards()) && cam_out.terminated().equal(plain_out.terminated()));
        // ...and the observation is the picture of the state.
        assert!(cam_out.obs(0).equal(&render(&camera.state())), "step {t}");
    }

    // The cart (black) sits at its x, the pole (tan) leans with θ.
    let states =
        Tensor::from_slice(&[-1.5f64, 0.0, 0.0, 0.0, 1.5, 0.0, 0.0, 0.0, 0.0, 0.0, 0.2, 0.0, 0.0, 0.0, -0.2, 0.0])
            .view([4, 4]);
    let images = render(&states);
    assert_eq!(images.kind(), Kind::Uint8);
    let px_per_m = IMAGE_SIZE as f64 / 6.0;
    for (i, x) in [(0, -1.5), (1, 1.5)] {
        let c = mean_column(&images, i, [0, 0, 0]).expect("a cart");
        assert!((c + 0.5 - (x + 3.0) * px_per_m).abs() < 1.0, "cart of env {i} at column {c}");
    }
    let (right, left) =
        (mean_column(&images, 2, [204, 153, 102]).unwrap(), mean_column(&images, 3, [204, 153, 102]).unwrap());
    let centre = IMAGE_SIZE as f64 / 2.0 - 0.5;
    assert!(right > centre + 1.0 && left < centre - 1.0, "θ > 0 leans right: {right}, {left}");
}

/// `env_config.channels_first`: the same pictures as (3, H, W), Isaac Lab 3.0's layout for
/// `permute_input: False` configs; refused in one line on an env without images.
#[test]
fn channels_first_gives_the_same_pictures_as_chw() {
    let (n, seed) = (3, 11);
    let config = rlhost_classic_control::EnvConfig { channels_first: true, ..Default::default() };
    let mut chw = rlhost_classic_control::ClassicEnv::<CartPoleCamera>::new(n, seed, Device::Cpu, &config).unwrap();
    let mut hwc = env::<CartPoleCamera>(n, seed, None);
    assert_eq!(chw.info().observations[0].shape.to_vec(), vec![3, IMAGE_SIZE, IMAGE_SIZE]);
    let (mut chw_out, mut hwc_out) = (buffers(&chw), buffers(&hwc));
    for t in 0..20 {
        let a = actions(n as i64, t);
        chw.step(&a, &mut chw_out).unwrap();
        hwc.step(&a, &mut hwc_out).unwrap();
        assert!(chw_out.obs(0).equal(&hwc_out.obs(0).permute([0, 3, 1, 2])), "step {t}");
    }
    let e = rlhost_classic_control::ClassicEnv::<CartPole>::new(n, seed, Device::Cpu, &config).unwrap_err();
    assert_eq!(e.message.as_str(), "CartPoleContinuous: env_config.channels_first applies to image observations only");
}

//! rl_games' convolutional tower (`network.cnn`, docs/rl_games.md §5.7): `conv2d`/`conv1d`
//! layers, each followed by the activation, as `NetworkBuilder._build_cnn2d`/`_build_cnn1d` build
//! them (no normalisation: `network.normalization` is refused), with `torch.nn.Conv*`'s
//! construction draws.
use crate::network::activate;
use crate::section::config_error;
use crate::spec::{Arithmetic, CnnSpec, ConvKind};
use rlhost_sdk::PluginError;
use tch::{Device, Kind, Tensor};

/// One convolution: weight (out, in, k[, k]) and bias (out,).
#[derive(Debug)]
struct Conv {
    weight: Tensor,
    bias: Tensor,
    stride: i64,
    padding: i64,
}

/// The tower: the convolutions of `cnn.convs` with the activation after each.
#[derive(Debug)]
pub struct ConvTower {
    spec: CnnSpec,
    convs: Vec<Conv>,
}

/// The (C, H, W) or (C, L) shape a tower sees for an observation of `obs_shape`: with
/// `permute_input`, a 3-d (H, W, C) observation is moved channels-first (rl_games'
/// `shape_whc_to_cwh`).
pub fn tower_input_shape(spec: &CnnSpec, obs_shape: &[i64]) -> Vec<i64> {
    if spec.permute_input && obs_shape.len() == 3 {
        vec![obs_shape[2], obs_shape[0], obs_shape[1]]
    } else {
        obs_shape.to_vec()
    }
}

/// Checks that the tower of `spec` (at key path `cnn_path`) can read observations of
/// `obs_shape`: the input has the rank its convolution type reads, and every convolution's
/// kernel fits the spatial size left by the ones before. rl_games only finds out when torch
/// first runs the tower (`_calc_input_size`); here it is one line naming the conv at fault.
pub fn check_input_fits(spec: &CnnSpec, obs_shape: &[i64], cnn_path: &str) -> Result<(), PluginError> {
    let input = tower_input_shape(spec, obs_shape);
    let (rank, layout) = match spec.kind {
        ConvKind::Conv2d => (3, "(C, H, W)"),
        ConvKind::Conv1d => (2, "(C, L)"),
    };
    let permute = if spec.permute_input { "permute_input true" } else { "permute_input false" };
    if input.len() != rank {
        return Err(config_error(
            cnn_path,
            format!("the tower reads {layout} inputs, but the observation is {obs_shape:?} ({permute})"),
        ));
    }
    let mut spatial = input[1..].to_vec();
    for (i, c) in spec.convs.iter().enumerate() {
        if spatial.iter().any(|&s| s + 2 * c.padding < c.kernel_size) {
            return Err(config_error(
                &format!("{cnn_path}.convs[{i}]"),
                format!(
                    "kernel_size {} does not fit its input of spatial size {spatial:?} with padding {}; the tower reads the observation {obs_shape:?} as {layout} = {input:?} ({permute})",
                    c.kernel_size, c.padding
                ),
            ));
        }
        for s in &mut spatial {
            *s = (*s + 2 * c.padding - c.kernel_size) / c.strides + 1;
        }
    }
    Ok(())
}

impl ConvTower {
    /// Builds the tower on the CPU for inputs of `input_shape` (channels first). With `draw`,
    /// each convolution makes `torch.nn.Conv*`'s default draws (weight: kaiming-uniform with
    /// a = √5, then bias: U(±1/√fan_in)) in order; without, everything is zero and nothing is drawn.
    pub(crate) fn new(spec: &CnnSpec, input_shape: &[i64], draw: bool) -> Self {
        let dims = match spec.kind {
            ConvKind::Conv2d => 2,
            ConvKind::Conv1d => 1,
        };
        let mut in_channels = input_shape[0];
        let mut convs = Vec::with_capacity(spec.convs.len());
        for c in &spec.convs {
            let mut shape = vec![c.filters, in_channels];
            shape.extend(std::iter::repeat_n(c.kernel_size, dims));
            let cpu = (Kind::Float, Device::Cpu);
            let fan_in = (in_channels * c.kernel_size.pow(dims as u32)) as f64;
            let (weight, bias) = if draw {
                // `kaiming_uniform_(w, a=sqrt(5))`, computed as PyTorch does.
                let gain = (2.0 / (1.0 + 5.0f64)).sqrt();
                let bound = 3f64.sqrt() * (gain / fan_in.sqrt());
                let weight = Tensor::empty(shape.as_slice(), cpu).uniform_(-bound, bound);
                let bias_bound = 1.0 / fan_in.sqrt();
                (weight, Tensor::empty([c.filters], cpu).uniform_(-bias_bound, bias_bound))
            } else {
                (Tensor::zeros(shape.as_slice(), cpu), Tensor::zeros([c.filters], cpu))
            };
            convs.push(Conv { weight, bias, stride: c.strides, padding: c.padding });
            in_channels = c.filters;
        }
        ConvTower { spec: spec.clone(), convs }
    }

    /// The flat size of the tower's output for one input of `input_shape` (channels first).
    pub fn output_size(&self, input_shape: &[i64]) -> i64 {
        let mut spatial: Vec<i64> = input_shape[1..].to_vec();
        let mut channels = input_shape[0];
        for (c, spec) in self.convs.iter().zip(&self.spec.convs) {
            for s in &mut spatial {
                *s = (*s + 2 * c.padding - spec.kernel_size) / c.stride + 1;
            }
            channels = spec.filters;
        }
        channels * spatial.iter().product::<i64>()
    }

    pub(crate) fn to_device(&self, device: Device) -> Self {
        let leaf = |t: &Tensor| t.to_device(device).detach().set_requires_grad(true);
        let convs = self
            .convs
            .iter()
            .map(|c| Conv { weight: leaf(&c.weight), bias: leaf(&c.bias), stride: c.stride, padding: c.padding })
            .collect();
        ConvTower { spec: self.spec.clone(), convs }
    }

    /// rl_games' init loop on the convolutions: weight ← `cnn.initializer`, bias ← 0.
    pub(crate) fn initialise(&self) {
        for c in &self.convs {
            crate::init::init_weight(&c.weight, &self.spec.initializer);
            tch::no_grad(|| {
                let _ = c.bias.shallow_clone().zero_();
            });
        }
    }

    /// The tower on (B, *obs_shape) observations, flattened to (B, output_size).
    pub fn forward(&self, obs: &Tensor, arithmetic: Arithmetic) -> Tensor {
        let mut x =
            if self.spec.permute_input && obs.dim() == 4 { obs.permute([0, 3, 1, 2]) } else { obs.shallow_clone() };
        for c in &self.convs {
            x = match self.spec.kind {
                ConvKind::Conv2d => {
                    x.conv2d(&c.weight, Some(&c.bias), [c.stride, c.stride], [c.padding, c.padding], [1, 1], 1)
                }
                ConvKind::Conv1d => x.conv1d(&c.weight, Some(&c.bias), [c.stride], [c.padding], [1], 1),
            };
            x = activate(self.spec.activation, x, arithmetic);
        }
        x.flatten(1, -1)
    }

    /// The convolutions under `prefix` with rl_games' `Sequential` indices (conv, activation, ...).
    pub(crate) fn named(&self, prefix: &str, out: &mut Vec<(String, Tensor)>) {
        for (i, c) in self.convs.iter().enumerate() {
            out.push((format!("{prefix}.{}.weight", 2 * i), c.weight.shallow_clone()));
            out.push((format!("{prefix}.{}.bias", 2 * i), c.bias.shallow_clone()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::NetworkConfig;

    /// Isaac Lab's camera cart-pole tower (8/4, 4/2, 3/1 kernels/strides) with `permute_input`.
    fn camera_tower(permute_input: bool) -> CnnSpec {
        let network = serde_json::json!({
            "name": "actor_critic", "separate": false,
            "space": {"continuous": {"mu_activation": "None", "sigma_activation": "None",
                "mu_init": {"name": "default"}, "sigma_init": {"name": "const_initializer", "val": 0},
                "fixed_sigma": true}},
            "cnn": {"type": "conv2d", "activation": "relu", "initializer": {"name": "default"},
                "permute_input": permute_input, "convs": [
                {"filters": 32, "kernel_size": 8, "strides": 4, "padding": 0},
                {"filters": 64, "kernel_size": 4, "strides": 2, "padding": 0},
                {"filters": 64, "kernel_size": 3, "strides": 1, "padding": 0}]},
            "mlp": {"units": [512], "activation": "elu", "initializer": {"name": "default"}}
        });
        NetworkConfig::from_json("params.network", &network).unwrap().cnn.unwrap()
    }

    #[test]
    fn a_tower_that_does_not_fit_its_input_names_the_conv() {
        assert!(check_input_fits(&camera_tower(true), &[100, 100, 3], "params.network.cnn").is_ok());
        assert!(check_input_fits(&camera_tower(false), &[3, 96, 96], "params.network.cnn").is_ok());
        // (H, W, C) read as (C, H, W): the first kernel meets a width of 3.
        let e = check_input_fits(&camera_tower(false), &[100, 100, 3], "params.network.cnn").unwrap_err();
        assert!(e.message.starts_with("params.network.cnn.convs[0]: kernel_size 8 does not fit"), "{}", e.message);
        assert!(e.message.contains("permute_input false") && !e.message.contains('\n'), "{}", e.message);
        // A 20x20 image leaves 4x4, then 1x1: the third kernel (3) does not fit.
        let e = check_input_fits(&camera_tower(true), &[20, 20, 3], "params.network.cnn").unwrap_err();
        assert!(e.message.starts_with("params.network.cnn.convs[2]:"), "{}", e.message);
        let e = check_input_fits(&camera_tower(true), &[4], "params.network.cnn").unwrap_err();
        assert!(e.message.starts_with("params.network.cnn: the tower reads (C, H, W) inputs"), "{}", e.message);
    }
}

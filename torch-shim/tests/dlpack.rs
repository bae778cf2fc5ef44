//! DLPack export/import: shared data, strides, deleters, errors.
use std::ffi::c_void;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use rlhost_torch_shim::dlpack::DLManagedTensorDeleter;
use rlhost_torch_shim::{
    drop_dlpack, from_dlpack, to_dlpack, DLDataType, DLDataTypeCode, DLDevice, DLDeviceType, DLManagedTensor, DLTensor,
    ShimErrorKind,
};
use tch::{Device, Kind, Tensor};

fn dl(p: *mut DLManagedTensor) -> &'static DLTensor {
    unsafe { &(*p).dl_tensor }
}

fn shape_of(t: &DLTensor) -> Vec<i64> {
    unsafe { std::slice::from_raw_parts(t.shape, t.ndim as usize) }.to_vec()
}

#[test]
fn contiguous_round_trip_shares_data() {
    let t = Tensor::arange(12, (Kind::Float, Device::Cpu)).view([3, 4]);
    let p = to_dlpack(&t).unwrap();
    let d = dl(p);
    assert_eq!(d.ndim, 2);
    assert_eq!(shape_of(d), [3, 4]);
    assert_eq!(d.device, DLDevice { device_type: DLDeviceType::CPU, device_id: 0 });
    assert_eq!(d.dtype, DLDataType { code: DLDataTypeCode::FLOAT.0, bits: 32, lanes: 1 });
    assert_eq!(d.data, t.data_ptr());

    let u = unsafe { from_dlpack(p) }.unwrap();
    assert_eq!(u.data_ptr(), t.data_ptr());
    assert_eq!(u.size(), [3, 4]);
    assert_eq!(u.kind(), Kind::Float);
    assert!(u.equal(&t));

    let _ = u.narrow(0, 1, 1).fill_(42.0);
    assert_eq!(t.double_value(&[1, 2]), 42.0);
    let _ = t.narrow(1, 3, 1).fill_(-1.0);
    assert_eq!(u.double_value(&[2, 3]), -1.0);
}

#[test]
fn strided_round_trip_keeps_strides_and_offset() {
    let base = Tensor::arange(24, (Kind::Double, Device::Cpu)).view([4, 6]);
    let s = base.transpose(0, 1).narrow(0, 1, 3); // [3, 4], strides [1, 6], offset 1
    assert_eq!(s.stride(), [1, 6]);
    let p = to_dlpack(&s).unwrap();
    let d = dl(p);
    assert_eq!(shape_of(d), [3, 4]);
    assert_eq!(unsafe { std::slice::from_raw_parts(d.strides, 2) }, [1, 6]);
    assert_eq!((d.data as usize) + d.byte_offset as usize, s.data_ptr() as usize);

    let u = unsafe { from_dlpack(p) }.unwrap();
    assert_eq!(u.data_ptr(), s.data_ptr());
    assert_eq!(u.stride(), [1, 6]);
    assert!(u.equal(&s));
    assert!(!u.is_contiguous());

    let _ = u.narrow(0, 2, 1).narrow(1, 3, 1).fill_(100.0); // s[2][3] = base[3][3]
    assert_eq!(base.double_value(&[3, 3]), 100.0);
    let _ = base.narrow(0, 0, 1).narrow(1, 1, 1).fill_(-5.0); // base[0][1] = s[0][0]
    assert_eq!(u.double_value(&[0, 0]), -5.0);
}

static ATEN_DELETES: AtomicUsize = AtomicUsize::new(0);
static ATEN_DELETER: OnceLock<DLManagedTensorDeleter> = OnceLock::new();

unsafe extern "C" fn counting_deleter(p: *mut DLManagedTensor) {
    ATEN_DELETES.fetch_add(1, Ordering::SeqCst);
    unsafe { (ATEN_DELETER.get().expect("original deleter"))(p) }
}

/// Exports `t`, wrapping ATen's deleter in one that counts calls.
fn counted_export(t: &Tensor) -> *mut DLManagedTensor {
    let p = to_dlpack(t).unwrap();
    let original = unsafe { (*p).deleter }.expect("ATen sets a deleter");
    let _ = ATEN_DELETER.set(original);
    assert_eq!(*ATEN_DELETER.get().unwrap() as usize, original as usize);
    unsafe { (*p).deleter = Some(counting_deleter) };
    p
}

#[test]
fn aten_capsule_deleter_runs_once() {
    let t = Tensor::arange(6, (Kind::Int64, Device::Cpu));
    let before = ATEN_DELETES.load(Ordering::SeqCst);

    let p = counted_export(&t);
    let u = unsafe { from_dlpack(p) }.unwrap();
    drop(t); // the import keeps the storage alive
    assert_eq!(ATEN_DELETES.load(Ordering::SeqCst), before);
    assert_eq!(Vec::<i64>::try_from(&u).unwrap(), [0, 1, 2, 3, 4, 5]);
    let view = u.narrow(0, 2, 2); // shares u's storage: the deleter waits for it too
    drop(u);
    assert_eq!(ATEN_DELETES.load(Ordering::SeqCst), before);
    assert_eq!(Vec::<i64>::try_from(&view).unwrap(), [2, 3]);
    drop(view);
    assert_eq!(ATEN_DELETES.load(Ordering::SeqCst), before + 1);

    // Exported but never imported: drop_dlpack releases it.
    let t = Tensor::ones([2], (Kind::Float, Device::Cpu));
    let p = counted_export(&t);
    unsafe { drop_dlpack(p) };
    assert_eq!(ATEN_DELETES.load(Ordering::SeqCst), before + 2);
    assert_eq!(t.double_value(&[1]), 1.0);
}

/// A DLPack tensor produced on the Rust side, owning its data; `alive` counts its owners.
struct Producer {
    managed: DLManagedTensor,
    _data: Vec<f32>,
    _shape: Vec<i64>,
    _strides: Option<Vec<i64>>,
    _alive: Arc<()>,
}

unsafe extern "C" fn producer_deleter(p: *mut DLManagedTensor) {
    drop(unsafe { Box::from_raw((*p).manager_ctx.cast::<Producer>()) });
}

fn produce(
    mut data: Vec<f32>,
    mut shape: Vec<i64>,
    mut strides: Option<Vec<i64>>,
    alive: &Arc<()>,
    dtype: DLDataType,
    device_type: DLDeviceType,
) -> *mut DLManagedTensor {
    let managed = DLManagedTensor {
        dl_tensor: DLTensor {
            data: data.as_mut_ptr().cast::<c_void>(),
            device: DLDevice { device_type, device_id: 0 },
            ndim: shape.len() as i32,
            dtype,
            shape: shape.as_mut_ptr(),
            strides: strides.as_mut().map_or(std::ptr::null_mut(), |s| s.as_mut_ptr()),
            byte_offset: 0,
        },
        manager_ctx: std::ptr::null_mut(),
        deleter: Some(producer_deleter),
    };
    let boxed = Box::into_raw(Box::new(Producer {
        managed,
        _data: data,
        _shape: shape,
        _strides: strides,
        _alive: alive.clone(),
    }));
    unsafe {
        (*boxed).managed.manager_ctx = boxed.cast::<c_void>();
        &raw mut (*boxed).managed
    }
}

const F32: DLDataType = DLDataType { code: DLDataTypeCode::FLOAT.0, bits: 32, lanes: 1 };

#[test]
fn foreign_tensor_is_imported_and_released() {
    let alive = Arc::new(());
    // Column-major 2x3: element [i][j] at i + 2j.
    let p = produce(vec![0., 1., 2., 3., 4., 5.], vec![2, 3], Some(vec![1, 2]), &alive, F32, DLDeviceType::CPU);
    let data = dl(p).data;
    let t = unsafe { from_dlpack(p) }.unwrap();
    assert_eq!(Arc::strong_count(&alive), 2);
    assert_eq!(t.data_ptr(), data);
    assert_eq!(t.stride(), [1, 2]);
    assert_eq!(Vec::<f32>::try_from(&t.contiguous().view([-1])).unwrap(), [0., 2., 4., 1., 3., 5.]);
    drop(t);
    assert_eq!(Arc::strong_count(&alive), 1, "deleter did not run");

    // Null strides: compact row-major.
    let p = produce(vec![1., 2., 3., 4.], vec![2, 2], None, &alive, F32, DLDeviceType::CPU);
    let t = unsafe { from_dlpack(p) }.unwrap();
    assert_eq!(t.stride(), [2, 1]);
    assert_eq!(t.double_value(&[1, 0]), 3.0);
    drop(t);
    assert_eq!(Arc::strong_count(&alive), 1);
}

#[test]
fn import_errors_consume_the_tensor() {
    let e = unsafe { from_dlpack(std::ptr::null_mut()) }.unwrap_err();
    assert_eq!(e.kind, ShimErrorKind::InvalidArgument);

    let alive = Arc::new(());
    let opaque = DLDataType { code: DLDataTypeCode::OPAQUE_HANDLE.0, bits: 64, lanes: 1 };
    let p = produce(vec![0.; 2], vec![1], None, &alive, opaque, DLDeviceType::CPU);
    let e = unsafe { from_dlpack(p) }.unwrap_err();
    eprintln!("opaque dtype: {e}");
    assert_eq!(e.kind, ShimErrorKind::Torch);
    assert_eq!(Arc::strong_count(&alive), 1, "deleter did not run on error");

    let p = produce(vec![0.; 2], vec![2], None, &alive, F32, DLDeviceType(99));
    let e = unsafe { from_dlpack(p) }.unwrap_err();
    eprintln!("unknown device: {e}");
    assert_eq!(Arc::strong_count(&alive), 1, "deleter did not run on error");

    let p = produce(vec![0.; 2], vec![2], None, &alive, F32, DLDeviceType::CPU);
    unsafe { (*p).dl_tensor.ndim = -1 };
    assert_eq!(unsafe { from_dlpack(p) }.unwrap_err().kind, ShimErrorKind::InvalidArgument);
    assert_eq!(Arc::strong_count(&alive), 1);
}

#[test]
fn sparse_export_is_an_error() {
    let t = Tensor::eye(3, (Kind::Float, Device::Cpu)).to_sparse_sparse_dim(2);
    match to_dlpack(&t) {
        Err(e) => eprintln!("sparse: {e}"),
        Ok(p) => {
            unsafe { drop_dlpack(p) };
            panic!("sparse tensor exported");
        }
    }
}

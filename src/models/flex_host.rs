//! A `flex` tensor's values on the host and back: what the CPU backend extensions of `models`
//! (`gemm_conv`, `sparse`, `fused_batch_norm`, `max_pool`) read and write, whether a device is
//! the one they run on, and the buffers they fill in parallel or keep per thread.

use std::cell::RefCell;

use burn::backend::tensor::FloatTensor;
use burn::backend::{DispatchDevice, Flex, TensorMetadata};
use burn::tensor::{DType, Device, Shape, TensorData};

/// Whether `device` is the CPU backend (`flex`, plain or under autodiff) the extensions serve.
pub fn is_flex(device: &Device) -> bool {
    matches!(
        device.clone().inner().as_dispatch(),
        DispatchDevice::Flex(_)
    )
}

/// The sizes of a 4-D tensor of any backend.
pub fn dims4(tensor: &impl TensorMetadata) -> [usize; 4] {
    let shape = tensor.shape();
    [shape[0], shape[1], shape[2], shape[3]]
}

/// `tensor` as contiguous f32 (a copy only when it is strided or another type).
pub fn contiguous_f32(tensor: FloatTensor<Flex>) -> FloatTensor<Flex> {
    let tensor = tensor.to_contiguous();
    if tensor.dtype() == DType::F32 {
        tensor
    } else {
        FloatTensor::<Flex>::from_data(tensor.into_data().convert::<f32>())
    }
}

/// The values of `tensor`, contiguous f32 (as [`contiguous_f32`] returns it), from its first:
/// a contiguous view may start later in its buffer.
pub fn values_from_start(tensor: &FloatTensor<Flex>) -> &[f32] {
    let start = tensor.layout().start_offset();
    &tensor.storage::<f32>()[start..start + tensor.shape().num_elements()]
}

/// A `flex` tensor holding `values`.
pub fn from_values(values: Vec<f32>, shape: impl Into<Shape>) -> FloatTensor<Flex> {
    FloatTensor::<Flex>::from_data(TensorData::new(values, shape))
}

/// Appends `len` floats to `values`, `chunk` floats at a time (the last chunk shorter) zeroed
/// and then passed to `fill(index, chunk)`, the chunks in parallel: the values of appending
/// `len` zeros and then running `par_chunks_mut(chunk)` over them.
///
/// Without a serial zeroing pass: on memory the allocator hands out again, which is most of a
/// pass's buffers, `vec![0.0; len]` (`calloc`) clears the whole block on the calling thread
/// while the other cores wait. Here each chunk is cleared by the thread that fills it, into
/// cache lines that `fill` then finds there.
pub fn par_extend_zeroed(
    values: &mut Vec<f32>,
    len: usize,
    chunk: usize,
    fill: impl Fn(usize, &mut [f32]) + Sync + Send,
) {
    use rayon::prelude::*;
    use std::mem::MaybeUninit;

    values.reserve(len);
    let start = values.len();
    values.spare_capacity_mut()[..len]
        .par_chunks_mut(chunk.max(1))
        .enumerate()
        .for_each(|(index, chunk)| {
            chunk.fill(MaybeUninit::new(0.0));
            // SAFETY: every element of `chunk` was initialised on the line above, and
            // `MaybeUninit<f32>` has the layout of `f32`.
            let chunk = unsafe { &mut *(std::ptr::from_mut(chunk) as *mut [f32]) };
            fill(index, chunk);
        });
    // SAFETY: the chunks cover the `len` floats past `start`, each initialised (a panic in
    // `fill` unwinds past this line, leaving the vector as it was).
    unsafe { values.set_len(start + len) };
}

thread_local! {
    /// Two buffers that a thread's CPU kernels reuse from call to call: a sparse call's phase
    /// planes and tiled result; a dense convolution tile's patches and product, or a chunk's
    /// patches and output gradient for its weight gradient. Each call overwrites what it reads,
    /// so kept buffers spare it zeroing (and faulting in) megabytes it is about to overwrite.
    /// They hold a chunk of images' worth at most (`sparse::tiling::images_per_chunk`: 8 MiB
    /// together; the weight gradient's: 8 MiB of patches; more only for one image larger than
    /// that), for the thread's life.
    static SCRATCH: RefCell<[Vec<f32>; 2]> = const { RefCell::new([Vec::new(), Vec::new()]) };
}

/// `f` on two buffers of `lens` floats holding any values: the thread's kept ones, grown as
/// needed, or new ones while a call on this thread holds those (a rayon worker waiting for
/// its tasks may start another call).
pub fn with_scratch<R>(lens: [usize; 2], f: impl FnOnce(&mut [f32], &mut [f32]) -> R) -> R {
    let fresh = |len| par_zeroed(len, 1 << 16, |_, _| {});
    SCRATCH.with(|kept| match kept.try_borrow_mut() {
        Ok(mut kept) => {
            let [a, b] = &mut *kept;
            for (buffer, &len) in [&mut *a, &mut *b].into_iter().zip(&lens) {
                if buffer.len() < len {
                    *buffer = fresh(len);
                }
            }
            f(&mut a[..lens[0]], &mut b[..lens[1]])
        }
        Err(_) => f(&mut fresh(lens[0]), &mut fresh(lens[1])),
    })
}

/// A new buffer of `len` floats made by [`par_extend_zeroed`].
pub fn par_zeroed(
    len: usize,
    chunk: usize,
    fill: impl Fn(usize, &mut [f32]) + Sync + Send,
) -> Vec<f32> {
    let mut values = Vec::new();
    par_extend_zeroed(&mut values, len, chunk, fill);
    values
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Chunks arrive zeroed, with their index, the last one shorter, after what the vector
    /// held; nothing is appended for a length of zero.
    #[test]
    fn extended_chunks_start_at_zero_and_cover_the_length() {
        let mut values = vec![7.0, 8.0];
        par_extend_zeroed(&mut values, 10, 4, |index, chunk| {
            assert!(chunk.iter().all(|&v| v == 0.0), "chunk {index} zeroed");
            assert_eq!(chunk.len(), if index == 2 { 2 } else { 4 });
            for (i, v) in chunk.iter_mut().enumerate() {
                *v += (index * 4 + i) as f32;
            }
        });
        let expected: Vec<f32> = [7.0, 8.0]
            .into_iter()
            .chain((0..10).map(|i| i as f32))
            .collect();
        assert_eq!(values, expected);
        par_extend_zeroed(&mut values, 0, 4, |_, _| panic!("no chunk"));
        assert_eq!(values.len(), 12);
        assert_eq!(par_zeroed(5, 0, |_, _| {}), vec![0.0; 5]);
    }
}

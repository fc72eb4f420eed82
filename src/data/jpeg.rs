//! JPEG decoding with libjpeg-turbo's decoder, so pixels equal PIL's (and so torchvision's).
//!
//! PyTorch pipelines read JPEGs through PIL, which decodes with libjpeg-turbo: the accurate
//! integer IDCT ("islow") and fancy (triangular) chroma upsampling. pvr links the same decoder,
//! as vendored by `mozjpeg-sys` (mozjpeg's decompression side is libjpeg-turbo's; the encoder
//! tweaks do not touch it), built with the C compiler and, when `nasm` is installed, its SIMD
//! code, whose output equals the plain C code's. Colour handling follows PIL's `JpegImagePlugin`
//! followed by `convert("RGB")`: 1 and 3 components come out as RGB from libjpeg (grey is
//! repeated), 4 components are read as CMYK with Adobe's inversion and converted by PIL's
//! formula.
//!
//! Stricter than PIL: a warning that means damaged data (a bad Huffman code, a premature end of
//! the data or the file, a broken progression) is an error, where PIL would train on the grey
//! fill. Warnings about metadata (an unknown JFIF revision or Adobe transform, a bad ICC
//! profile) and spare bytes before the end-of-image marker leave the pixels complete and are
//! ignored, as PIL ignores them.

use std::ffi::{CStr, c_int, c_ulong};
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};

use anyhow::{anyhow, bail};
use mozjpeg_sys as ffi;

/// PIL's limit: it refuses images over twice `Image.MAX_IMAGE_PIXELS` (a decompression bomb).
const MAX_PIXELS: u64 = 2 * (1024 * 1024 * 1024 / 4 / 3);

/// A decoded JPEG: 8-bit RGB, row-major, interleaved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rgb8 {
    pub width: usize,
    pub height: usize,
    pub pixels: Vec<u8>,
}

/// Decode a whole JPEG file's bytes as PIL's `Image.open(f).convert("RGB")` would.
pub fn decode(bytes: &[u8]) -> anyhow::Result<Rgb8> {
    // SAFETY: all zeros is the state libjpeg expects before `jpeg_std_error` and
    // `jpeg_create_decompress` (null pointers, no memory manager). Both live in boxes so the
    // pointers libjpeg keeps to them stay valid until `jpeg_destroy_decompress`.
    let mut err: Box<ffi::jpeg_error_mgr> = Box::new(unsafe { std::mem::zeroed() });
    let mut cinfo: Box<ffi::jpeg_decompress_struct> = Box::new(unsafe { std::mem::zeroed() });
    // libjpeg reports fatal errors through `error_exit`, which must not return: it unwinds (the
    // library is compiled with -fexceptions for that), and the unwind stops here.
    let result = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: the error manager is set up before the decompressor that uses it, and
        // `bytes` outlives the decoding.
        unsafe {
            ffi::jpeg_std_error(&mut err);
            err.error_exit = Some(error_exit);
            err.emit_message = Some(emit_message);
            cinfo.common.err = &mut *err;
            ffi::jpeg_create_decompress(&mut *cinfo);
            decompress(&mut cinfo, bytes)
        }
    }));
    // SAFETY: valid after a complete or an interrupted decoding, and a no-op when
    // `jpeg_create_decompress` did not get as far as allocating.
    unsafe { ffi::jpeg_destroy_decompress(&mut cinfo) };
    match result {
        Ok(decoded) => decoded,
        Err(payload) => match payload.downcast::<Fatal>() {
            Ok(fatal) => Err(anyhow!("{}", fatal.0)),
            Err(other) => resume_unwind(other),
        },
    }
}

/// The panic payload that carries libjpeg's message out of the library.
struct Fatal(String);

/// Runs the decompressor; libjpeg's errors unwind out of it (see [`decode`]).
///
/// # Safety
/// `cinfo` is created, with this module's error manager.
unsafe fn decompress(
    cinfo: &mut ffi::jpeg_decompress_struct,
    bytes: &[u8],
) -> anyhow::Result<Rgb8> {
    // SAFETY: the caller's contract; the row pointers point into `pixels`, one per row of the
    // size libjpeg reports, and libjpeg writes at most `output_width * output_components`
    // bytes to each.
    unsafe {
        ffi::jpeg_mem_src(cinfo, bytes.as_ptr(), bytes.len() as c_ulong);
        ffi::jpeg_read_header(cinfo, 1);
        let area = cinfo.image_width as u64 * cinfo.image_height as u64;
        if area > MAX_PIXELS {
            bail!(
                "{} x {} pixels: more than the {MAX_PIXELS} PIL opens (a decompression bomb?)",
                cinfo.image_width,
                cinfo.image_height
            );
        }
        let cmyk = match cinfo.num_components {
            1 | 3 => false,
            4 => true,
            n => bail!("a JPEG with {n} colour components (1, 3 or 4 are readable)"),
        };
        // The defaults are PIL's: islow IDCT, fancy upsampling, block smoothing for
        // progressive files.
        cinfo.out_color_space = if cmyk { ffi::JCS_CMYK } else { ffi::JCS_RGB };
        ffi::jpeg_start_decompress(cinfo);
        let (width, height) = (cinfo.output_width as usize, cinfo.output_height as usize);
        let stride = width * cinfo.output_components as usize;
        let mut pixels = vec![0u8; stride * height];
        let mut rows: Vec<*mut u8> = pixels
            .chunks_exact_mut(stride.max(1))
            .map(|row| row.as_mut_ptr())
            .collect();
        while (cinfo.output_scanline as usize) < height {
            let done = cinfo.output_scanline as usize;
            let left = (height - done) as ffi::JDIMENSION;
            if ffi::jpeg_read_scanlines(cinfo, rows.as_mut_ptr().add(done).cast(), left) == 0 {
                bail!("the decoder stopped at row {done} of {height}");
            }
        }
        ffi::jpeg_finish_decompress(cinfo);
        let pixels = if cmyk { cmyk_to_rgb(&pixels) } else { pixels };
        Ok(Rgb8 {
            width,
            height,
            pixels,
        })
    }
}

/// PIL reads every 4-component JPEG as Adobe's inverted CMYK ("CMYK;I"), then
/// `convert("RGB")` computes each channel as `nk - nk * c / 255` with `nk = 255 - k`, rounded
/// as its `MULDIV255`.
fn cmyk_to_rgb(inverted: &[u8]) -> Vec<u8> {
    let muldiv255 = |a: i32, b: i32| {
        let t = a * b + 128;
        ((t >> 8) + t) >> 8
    };
    let mut rgb = Vec::with_capacity(inverted.len() / 4 * 3);
    for p in inverted.chunks_exact(4) {
        let nk = p[3] as i32; // 255 - (255 - stored k)
        for &v in &p[..3] {
            let c = 255 - v as i32;
            rgb.push((nk - muldiv255(c, nk)).clamp(0, 255) as u8);
        }
    }
    rgb
}

/// libjpeg's message for the current error or warning.
fn message(cinfo: &mut ffi::jpeg_common_struct) -> String {
    let mut buffer = [0u8; 80];
    // SAFETY: `err` is the manager `decode` installed; its `format_message` writes at most
    // JMSG_LENGTH_MAX (80) bytes, NUL included. The binding declares the buffer `&[u8; 80]`;
    // it is passed as the pointer it is, to a buffer that may be written.
    unsafe {
        if let Some(format) = (*cinfo.err).format_message {
            let format: unsafe extern "C-unwind" fn(&mut ffi::jpeg_common_struct, *mut u8) =
                std::mem::transmute(format);
            format(cinfo, buffer.as_mut_ptr());
        }
    }
    CStr::from_bytes_until_nul(&buffer)
        .map(|text| text.to_string_lossy().into_owned())
        .unwrap_or_else(|_| "unreadable libjpeg message".to_string())
}

unsafe extern "C-unwind" fn error_exit(cinfo: &mut ffi::jpeg_common_struct) {
    resume_unwind(Box::new(Fatal(message(cinfo))));
}

unsafe extern "C-unwind" fn emit_message(cinfo: &mut ffi::jpeg_common_struct, level: c_int) {
    if level >= 0 {
        return; // trace output
    }
    // SAFETY: libjpeg calls this with the error manager `decode` installed.
    let (code, marker) = unsafe {
        let err = &mut *cinfo.err;
        err.num_warnings += 1;
        (err.msg_code, (*err.msg_parm.i())[1])
    };
    if !harmless_warning(code, marker) {
        resume_unwind(Box::new(Fatal(message(cinfo))));
    }
}

/// Warnings after which the pixels are complete: metadata PIL ignores too, and spare bytes
/// before the end-of-image marker (0xD9) once every block has been decoded.
fn harmless_warning(code: c_int, marker: c_int) -> bool {
    match code {
        ffi::JWRN_JFIF_MAJOR | ffi::JWRN_ADOBE_XFORM | ffi::JWRN_BOGUS_ICC => true,
        ffi::JWRN_EXTRANEOUS_DATA => marker == 0xD9,
        _ => false,
    }
}

#[cfg(test)]
#[path = "jpeg_tests.rs"]
mod tests;

//! The machine a run executes on, as recorded in cache manifests and report provenance.

/// The most memory glibc's allocator keeps at the top of its heaps after a free (1 GiB).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const KEPT_AFTER_FREE: libc::c_int = 1 << 30;

/// Blocks up to this size (glibc's largest, 32 MiB) come from the heaps, not their own mappings.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const LARGEST_HEAP_BLOCK: libc::c_int = 32 << 20;

/// Has glibc's allocator keep the memory the process frees for its next allocations, instead of
/// unmapping it; true when the allocator took the settings (false on other C libraries).
///
/// An attribution pass or a training step allocates and frees the same activations, patch
/// matrices and gradients, tens of megabytes each at 224 px, again and again. By default glibc
/// trims its heaps as they shrink and maps larger blocks on their own, so every pass faults the
/// same pages in again, zeroes them and shoots down TLBs when it gives them back. With these
/// settings (measured in the benches, 2 threads): IG on a 90%-sparse ResNet-18 0.42 -> 0.58
/// img/s, dense IG 0.22 -> 0.31, LOST on ResNet-50 2.1 -> 2.8, their peak memory unchanged
/// (a trim threshold of 128 MiB instead of 1 GiB kept only a fifth of IG's gain). The cost is
/// that memory freed after a peak stays with the process: a whole quickstart run peaked at
/// 262 MB instead of 207 MB (its stages' models are small, so its time barely moved).
pub fn keep_freed_memory() -> bool {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: mallopt only changes the allocator's tuning parameters, which take effect for
        // later allocations; it is thread-safe in glibc.
        unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, LARGEST_HEAP_BLOCK) == 1
                && libc::mallopt(libc::M_TRIM_THRESHOLD, KEPT_AFTER_FREE) == 1
        }
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    false
}

/// This machine's host name (`unknown` when the system does not say).
pub fn host_name() -> String {
    let mut buffer = [0u8; 256];
    // SAFETY: the buffer is valid for its full length; gethostname writes at most that many
    // bytes and we only read up to the first NUL inside it.
    let status = unsafe { libc::gethostname(buffer.as_mut_ptr().cast(), buffer.len()) };
    let end = buffer.iter().position(|&b| b == 0).unwrap_or(buffer.len());
    match status {
        0 if end > 0 => String::from_utf8_lossy(&buffer[..end]).into_owned(),
        _ => "unknown".to_string(),
    }
}

/// The CPU's model name from `/proc/cpuinfo` (Linux), or the architecture elsewhere.
pub fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| model_name(&text))
        .unwrap_or_else(|| std::env::consts::ARCH.to_string())
}

/// Logical CPUs this process may use.
pub fn cpu_count() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// The first `model name` line of a `/proc/cpuinfo` text.
fn model_name(cpuinfo: &str) -> Option<String> {
    cpuinfo.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        (key.trim() == "model name").then(|| value.trim().to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// glibc takes the settings (a value out of its range would be refused and return false).
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[test]
    fn glibc_keeps_freed_memory() {
        assert!(keep_freed_memory());
    }

    #[test]
    fn the_model_name_is_read_from_cpuinfo() {
        let text =
            "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R) 8480\n";
        assert_eq!(model_name(text).as_deref(), Some("Intel(R) Xeon(R) 8480"));
        assert_eq!(model_name("processor\t: 0\n"), None);
    }

    #[test]
    fn the_host_has_a_name() {
        assert!(!host_name().is_empty());
    }
}

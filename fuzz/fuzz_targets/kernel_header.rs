#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The bzImage version string: printable ASCII, never empty, and found again by the
    // running-kernel comparison when /proc/version says the same.
    if let Some(v) = kboot::boot::header::bzimage_version(data) {
        assert!(!v.is_empty() && v.bytes().all(|c| (0x20..0x7f).contains(&c)), "{v:?}");
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = kboot::boot::header::running_version(text);
        let _ = kboot::boot::header::is_running_kernel(data, text);
    }
    let _ = kboot::boot::header::pe_signed(data);
    if let Some(n) = kboot::boot::header::own_image_check_len(data) {
        assert!(n > 0 && n <= kboot::boot::header::OWN_IMAGE_MAX);
    }
    // The loaded size a kernel's header gives (bzImage init_size, arm64 image_size).
    let _ = kboot::boot::memory::init_size(data);
    let _ = kboot::boot::memory::arm64_image_size(data);
    let _ = kboot::boot::memory::segments(data, data.len() as u64, 0);
    let _ = kboot::init::lockdown::parse_lockdown(&String::from_utf8_lossy(data));
    let _ = kboot::init::lockdown::secure_boot_from_efivar(data);
});

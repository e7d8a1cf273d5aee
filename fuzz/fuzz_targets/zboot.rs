#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Any bytes: a plain kernel passes, a gzip or EFI zboot one unpacks to an Image or is
    // refused with an error; never a panic, and nothing bigger than the cap.
    let format = kboot::boot::zboot::detect(data);
    match kboot::boot::zboot::unpack(data) {
        Ok(None) => assert_eq!(format, kboot::boot::zboot::Format::AsIs),
        Ok(Some(image)) => {
            assert!(kboot::boot::zboot::is_image(&image));
            assert!(image.len() as u64 <= kboot::boot::zboot::MAX_IMAGE);
        }
        Err(e) => assert!(!e.to_string().is_empty()),
    }
});

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(sections) = kboot::boot::uki::sections(data) {
        for s in &sections {
            assert!(s.offset + s.len <= data.len());
        }
    }
    if let Ok(uki) = kboot::boot::uki::parse(data) {
        let _ = uki.title();
    }
    // The disk scan's path: the head of the file, the small sections read on demand.
    let head = &data[..data.len().min(kboot::boot::uki::HEAD)];
    let mut read = |at: usize, n: usize| data.get(at..at.checked_add(n)?).map(<[u8]>::to_vec);
    let _ = kboot::boot::uki::describe(head, data.len() as u64, &mut read);
    let _ = kboot::boot::uki::is_uki(head, data.len() as u64 / 2);
});

//! Host side: building kboot's initramfs.

//! GRUB2 menus (netboot.md §4).

//! `kboot menu --json` against a real TFTP server (atftpd on 127.0.0.1) holding an
//! installer-style pxelinux tree: the CLI must fetch the config and its includes over TFTP and
//! print the same menu as the golden file, with URLs on that server.

mod common;

use std::path::Path;
use std::process::Command;

fn copy_tree(from: &Path, to: &Path, rel: &Path) {
    for entry in std::fs::read_dir(from.join(rel)).unwrap() {
        let entry = entry.unwrap();
        let rel = rel.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(from, to, &rel);
        } else {
            let data = std::fs::read(from.join(&rel)).unwrap();
            common::atftpd::write_file(to, rel.to_str().unwrap(), &data);
        }
    }
}

#[test]
fn menu_json_of_a_pxelinux_tree_served_over_tftp() {
    let fixtures = common::repo().join("tests/fixtures");
    let server = common::atftpd::start("menu-cli", |dir| {
        copy_tree(
            &fixtures.join("pxelinux-debian-installer"),
            dir,
            Path::new(""),
        );
    });
    let base = format!("tftp://{}/", server.addr);
    let out = Command::new(env!("CARGO_BIN_EXE_kboot"))
        .args(["menu", &format!("{base}pxelinux.cfg/default"), "--json"])
        .output()
        .expect("run kboot menu");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "kboot menu failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut got: serde_json::Value = serde_json::from_str(&stdout).expect("JSON on stdout");
    assert_eq!(got["format"], "pxelinux");
    let obj = got.as_object_mut().unwrap();
    obj.remove("format");
    obj.remove("warnings");

    // The golden file was made with the tree at tftp://10.0.2.2/.
    let golden = std::fs::read_to_string(fixtures.join("pxelinux-debian-installer.json")).unwrap();
    let golden: serde_json::Value =
        serde_json::from_str(&golden.replace("tftp://10.0.2.2/", &base)).unwrap();
    assert_eq!(
        got, golden,
        "kboot menu --json differs from the golden menu"
    );

    // The documented shape, spelled out.
    let first = &got["entries"][0];
    for key in ["id", "title", "kernel", "initrds", "cmdline", "children"] {
        assert!(first.get(key).is_some(), "entry lacks {key}: {first}");
    }
    assert!(!first["title"].as_str().unwrap().contains('^'));
    assert!(first["kernel"].as_str().unwrap().starts_with(&base));
}

//! Downloads from a real `atftpd` on 127.0.0.1 with our TFTP client.
//!
//! Needs `/usr/sbin/atftpd` (Debian package `atftpd`); fails, on purpose, when it is missing.

mod common;

use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use common::atftpd::{content, start, write_file};
use kboot::fetch::tftp::{download, TftpError, TftpOptions};

/// Downloads into memory, checking the progress reports.
fn fetch(server: SocketAddr, path: &str, opts: &TftpOptions) -> Result<Vec<u8>, TftpError> {
    let mut out = Vec::new();
    let mut last = None;
    let n = download(
        server,
        path,
        opts,
        &mut out,
        &mut |bytes, total| {
            if let Some((b, _)) = last {
                assert!(bytes >= b, "progress goes forward");
            }
            last = Some((bytes, total));
        },
        &AtomicBool::new(false),
    )?;
    assert_eq!(n, out.len() as u64);
    if let Some((bytes, total)) = last {
        assert_eq!(bytes, n);
        if let Some(t) = total {
            assert_eq!(t, n, "tsize matches");
        }
    }
    Ok(out)
}

#[test]
fn downloads_from_atftpd() {
    // Over 65535 blocks of 512 bytes: exercises the block-number rollover.
    let big_len = 65535 * 512 + 70_000 + 3;
    let files: Vec<(String, Vec<u8>)> = [0usize, 1467, 1468, (1 << 20) + 3, big_len]
        .iter()
        .enumerate()
        .map(|(i, &len)| (format!("file-{len}"), content(len, i as u32)))
        .collect();
    let server = start("tftp-atftpd", |dir| {
        write_file(dir, "ready", b"");
        std::fs::create_dir_all(dir.join("sub")).expect("subdir");
        std::fs::set_permissions(dir.join("sub"), std::fs::Permissions::from_mode(0o755))
            .expect("chmod subdir");
        for (name, data) in &files {
            write_file(&dir.join("sub"), name, data);
        }
    });

    for (name, data) in &files {
        let path = format!("/sub/{name}");
        for windowsize in [1u16, 16] {
            let opts = TftpOptions {
                windowsize,
                ..TftpOptions::default()
            };
            let start = Instant::now();
            let got = fetch(server.addr, &path, &opts)
                .unwrap_or_else(|e| panic!("{path} windowsize {windowsize}: {e}"));
            assert!(
                got == *data,
                "{path} windowsize {windowsize}: content differs"
            );
            eprintln!(
                "{path}: {} bytes, windowsize {windowsize}: {:?}",
                got.len(),
                start.elapsed()
            );
        }
    }

    // The big file at blksize 512: block numbers wrap past 65535.
    let (name, data) = &files[4];
    for windowsize in [1u16, 16] {
        let opts = TftpOptions {
            blksize: 512,
            windowsize,
            ..TftpOptions::default()
        };
        let start = Instant::now();
        let got = fetch(server.addr, &format!("/sub/{name}"), &opts)
            .unwrap_or_else(|e| panic!("rollover, windowsize {windowsize}: {e}"));
        assert!(
            got == *data,
            "rollover, windowsize {windowsize}: content differs"
        );
        eprintln!(
            "{name} at blksize 512, windowsize {windowsize}: {:?}",
            start.elapsed()
        );
    }

    // Plain RFC 1350, no options.
    let (name, data) = &files[3];
    let got = fetch(
        server.addr,
        &format!("/sub/{name}"),
        &TftpOptions {
            request_options: false,
            ..TftpOptions::default()
        },
    )
    .expect("plain RFC 1350 download");
    assert!(got == *data, "plain download content differs");

    // Size limit.
    let e = fetch(
        server.addr,
        &format!("/sub/{name}"),
        &TftpOptions {
            max_size: Some(1 << 20),
            ..TftpOptions::default()
        },
    )
    .expect_err("over the limit");
    assert!(matches!(e, TftpError::TooLarge { .. }), "{e}");

    // A clear file-not-found error.
    let e = fetch(
        server.addr,
        "/pxelinux.cfg/default",
        &TftpOptions::default(),
    )
    .expect_err("missing file");
    assert_eq!(
        e.to_string(),
        format!("file not found on {}: /pxelinux.cfg/default", server.addr)
    );
    drop(server);
}

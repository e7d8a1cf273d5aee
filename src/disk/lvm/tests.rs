use super::label::{dashed_uuid, parse_label, Area, LABEL_SCAN_LEN};
use super::mda::{self, MDA_HEADER_SIZE};
use super::text::{self, Value, MAX_DEPTH};
use super::vg::{dm_name, dm_uuid, LinearPart};
use super::*;
use std::io::Read;

/// The first MiB of a PV made by Debian 12's lvm2 (tests/fixtures/lvm/make.sh).
fn fixture(name: &str) -> Vec<u8> {
    let gz: &[u8] = match name {
        "pv0" => include_bytes!("../../../tests/fixtures/lvm/pv0.head.gz"),
        _ => include_bytes!("../../../tests/fixtures/lvm/pv1.head.gz"),
    };
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(gz)
        .read_to_end(&mut out)
        .unwrap();
    out
}

fn metadata_of(head: &[u8]) -> String {
    let label = parse_label(head).unwrap().unwrap();
    let area = label.metadata_areas[0];
    let bytes = &head[area.offset as usize..(area.offset + area.size) as usize];
    mda::read_text(bytes, area.offset).unwrap().unwrap()
}

#[test]
fn real_label_from_lvm2() {
    let head = fixture("pv0");
    let label = parse_label(&head).unwrap().unwrap();
    assert_eq!(label.sector, 1);
    assert_eq!(
        dashed_uuid(&label.pv_uuid),
        "3bLTCA-ZsKE-31Xv-rGZk-kW1J-qbdr-ovIyPW"
    );
    assert_eq!(label.device_size, 72 << 20);
    assert_eq!(
        label.data_areas,
        vec![Area {
            offset: 1 << 20,
            size: 0
        }]
    );
    assert_eq!(
        label.metadata_areas,
        vec![Area {
            offset: 4096,
            size: (1 << 20) - 4096
        }]
    );
}

#[test]
fn real_metadata_from_lvm2() {
    let head = fixture("pv0");
    let text = metadata_of(&head);
    let vg = parse_vg(&text).unwrap();
    assert_eq!(vg.name, "vgkboot");
    assert_eq!(vg.uuid, "EN6pRz-mExe-XAk8-pxOS-0wIb-YgEE-uHwzSF");
    assert_eq!(vg.seqno, 6);
    assert_eq!(vg.extent_size, 8192);
    assert_eq!(vg.pvs.len(), 2);
    assert_eq!(vg.pvs[1].uuid, "xvx9hQ-FYIk-2B7U-GJTm-eL2G-cDUn-ZJ5pAL");
    assert_eq!(vg.pvs[1].pe_start, 2048);
    let names: Vec<&str> = vg.lvs.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(names, ["root", "swap", "str2", "span"]);
    let pv0 = "3bLTCA-ZsKE-31Xv-rGZk-kW1J-qbdr-ovIyPW".to_string();
    let pv1 = "xvx9hQ-FYIk-2B7U-GJTm-eL2G-cDUn-ZJ5pAL".to_string();
    // root: extents 0-1 at pv0 extent 0, extents 2-3 at pv0 extent 3 (after swap).
    assert_eq!(
        vg.linear_table(&vg.lvs[0]).unwrap(),
        vec![
            LinearPart {
                start: 0,
                len: 16384,
                pv_uuid: pv0.clone(),
                pv_sector: 2048
            },
            LinearPart {
                start: 16384,
                len: 16384,
                pv_uuid: pv0.clone(),
                pv_sector: 2048 + 3 * 8192
            },
        ]
    );
    // span: the rest of pv0, then pv1.
    let span = vg.linear_table(&vg.lvs[3]).unwrap();
    assert_eq!(span.len(), 2);
    assert_eq!(span[0].pv_uuid, pv0);
    assert_eq!(span[1].pv_uuid, pv1);
    assert_eq!(span[1].start, 11 * 8192);
    assert_eq!(span[1].pv_sector, 2048 + 8192);
    // str2 is striped over two PVs: not mapped, with the reason.
    assert_eq!(
        vg.linear_table(&vg.lvs[2]).unwrap_err(),
        "it is striped over 2 PVs"
    );
    // Every PV holds the same metadata.
    assert_eq!(metadata_of(&fixture("pv1")), text);
    assert_eq!(
        dm_uuid(&vg.uuid, &vg.lvs[0].uuid),
        "LVM-EN6pRzmExeXAk8pxOS0wIbYgEEuHwzSFdnJ12K2ThYgEkToGiXHhPJxIPDHJHu0A"
    );
}

#[test]
fn dm_names_double_dashes() {
    assert_eq!(dm_name("vg0", "root"), "vg0-root");
    assert_eq!(dm_name("my-vg", "lv-a-b"), "my--vg-lv--a--b");
}

#[test]
fn label_errors() {
    let head = fixture("pv0");
    // Every truncation: an error or no label, never a panic.
    for len in 0..LABEL_SCAN_LEN {
        let _ = parse_label(&head[..len]);
    }
    assert_eq!(parse_label(&[0u8; 4096]), Ok(None));
    // A flipped bit in the label: wrong checksum.
    let mut bad = head.clone();
    bad[512 + 40] ^= 1;
    assert!(matches!(parse_label(&bad), Err(LvmError::Label(m)) if m.contains("checksum")));
    // A label in the wrong sector.
    let mut moved = vec![0u8; 512];
    moved.extend_from_slice(&head[..LABEL_SCAN_LEN - 512]);
    assert!(matches!(parse_label(&moved), Err(LvmError::Label(_))));
    // An area list without its terminator: runs past the sector.
    let mut endless = head[512..1024].to_vec();
    for at in (72..512).step_by(8) {
        endless[at..at + 8].copy_from_slice(&1u64.to_le_bytes());
    }
    let crc = crc::calc_crc(crc::INITIAL_CRC, &endless[20..]);
    endless[16..20].copy_from_slice(&crc.to_le_bytes());
    let mut sector0 = endless.clone();
    sector0[8..16].copy_from_slice(&0u64.to_le_bytes());
    let crc = crc::calc_crc(crc::INITIAL_CRC, &sector0[20..]);
    sector0[16..20].copy_from_slice(&crc.to_le_bytes());
    assert!(
        matches!(parse_label(&sector0), Err(LvmError::Label(m)) if m.contains("past the sector"))
    );
}

/// A metadata area of `size` bytes at device byte 4096 whose text is `text` at `offset`
/// (wrapping when it runs past the end), with correct checksums.
fn area(size: usize, offset: usize, text: &[u8]) -> Vec<u8> {
    let mut a = vec![0u8; size];
    a[4..20].copy_from_slice(b"\x20LVM2\x20x[5A%r0N*>");
    a[20..24].copy_from_slice(&1u32.to_le_bytes());
    a[24..32].copy_from_slice(&4096u64.to_le_bytes());
    a[32..40].copy_from_slice(&(size as u64).to_le_bytes());
    a[40..48].copy_from_slice(&(offset as u64).to_le_bytes());
    a[48..56].copy_from_slice(&(text.len() as u64).to_le_bytes());
    a[56..60].copy_from_slice(&crc::calc_crc(crc::INITIAL_CRC, text).to_le_bytes());
    for (i, &b) in text.iter().enumerate() {
        let mut at = offset + i;
        if at >= size {
            at = at - size + MDA_HEADER_SIZE;
        }
        a[at] = b;
    }
    let crc = crc::calc_crc(crc::INITIAL_CRC, &a[4..512]);
    a[0..4].copy_from_slice(&crc.to_le_bytes());
    a
}

#[test]
fn metadata_wrapping_around_the_circular_buffer() {
    let text = b"vg { id = \"x\" seqno = 3 extent_size = 8 }\n";
    let a = area(2048, 2048 - 10, text);
    assert_eq!(
        mda::read_text(&a, 4096).unwrap().as_deref(),
        Some(std::str::from_utf8(text).unwrap())
    );
    let a = area(2048, 600, text);
    assert_eq!(mda::read_text(&a, 4096).unwrap().unwrap().len(), text.len());
}

#[test]
fn metadata_area_errors() {
    let text = b"vg { id = \"x\" seqno = 3 extent_size = 8 }\n";
    let good = area(2048, 600, text);
    for len in 0..good.len() {
        let _ = mda::read_text(&good[..len], 4096);
    }
    // Wrong magic, header checksum, text checksum, area start.
    let mut m = good.clone();
    m[5] = b'X';
    assert!(mda::read_text(&m, 4096)
        .unwrap_err()
        .to_string()
        .contains("magic"));
    let mut m = good.clone();
    m[45] ^= 1;
    assert!(mda::read_text(&m, 4096)
        .unwrap_err()
        .to_string()
        .contains("checksum"));
    let mut m = good.clone();
    m[610] ^= 1;
    assert!(mda::read_text(&m, 4096)
        .unwrap_err()
        .to_string()
        .contains("metadata checksum"));
    assert!(mda::read_text(&good, 8192).is_err());
    // Offsets and sizes beyond the area, however large.
    for (offset, size) in [
        (100, 10),
        (5000, 10),
        (600, 4000),
        (u64::MAX - 3, 10),
        (600, u64::MAX),
    ] {
        let mut m = good.clone();
        m[40..48].copy_from_slice(&offset.to_le_bytes());
        m[48..56].copy_from_slice(&size.to_le_bytes());
        let crc = crc::calc_crc(crc::INITIAL_CRC, &m[4..512]);
        m[0..4].copy_from_slice(&crc.to_le_bytes());
        assert!(mda::read_text(&m, 4096).is_err(), "{offset} {size}");
    }
    // An area with no metadata yet.
    let mut m = good.clone();
    m[40..56].fill(0);
    let crc = crc::calc_crc(crc::INITIAL_CRC, &m[4..512]);
    m[0..4].copy_from_slice(&crc.to_le_bytes());
    assert_eq!(mda::read_text(&m, 4096), Ok(None));
}

#[test]
fn text_syntax() {
    let s = text::parse(
        "# comment\nvg-1 {\n id = \"a\\\"b\\\\c\" # trailing\n n = -5\n f = 1.5\n l = [\"x\", 1,]\n e = []\n sub { }\n}\n",
    )
    .unwrap();
    let vg = s.section("vg-1").unwrap();
    assert_eq!(vg.str("id"), Some("a\"b\\c"));
    assert_eq!(vg.int("n"), Some(-5));
    assert_eq!(vg.value("f"), Some(&Value::Float(1.5)));
    assert_eq!(
        vg.value("l"),
        Some(&Value::List(vec![Value::Str("x".into()), Value::Int(1)]))
    );
    assert_eq!(vg.value("e"), Some(&Value::List(vec![])));
    assert!(vg.section("sub").is_some());
}

#[test]
fn text_errors() {
    let cases = [
        ("vg { id = \"abc", "not closed with \""),
        ("vg { id = 1", "not closed with }"),
        ("vg { l = [1, 2", "not closed with ]"),
        ("vg { l = [[1]] }", "lists inside lists"),
        ("vg { n = 99999999999999999999999 }", "bad number"),
        ("vg { n = 12abc }", "bad number"),
        ("vg { n = }", "expected a value"),
        ("vg { n }", "expected = or {"),
        ("}", "unexpected"),
        ("vg { id = ", "found the end"),
    ];
    for (t, want) in cases {
        let e = text::parse(t).unwrap_err().to_string();
        assert!(e.contains(want), "{t:?}: {e}");
    }
    let deep = "a {".repeat(MAX_DEPTH + 2) + &"}".repeat(MAX_DEPTH + 2);
    assert!(text::parse(&deep)
        .unwrap_err()
        .to_string()
        .contains("too deeply"));
    let deep_ok = "a {".repeat(MAX_DEPTH) + &"}".repeat(MAX_DEPTH);
    assert!(text::parse(&deep_ok).is_ok());
    // Very deep nesting far beyond the limit must not overflow the stack.
    let abyss = "a {".repeat(100_000);
    assert!(text::parse(&abyss).is_err());
    // Line numbers point at the problem.
    assert_eq!(
        text::parse("vg {\n\n x = \"open\n").unwrap_err(),
        LvmError::Syntax {
            line: 3,
            what: "a string is not closed with \"".into()
        }
    );
}

#[test]
fn vg_errors_and_skips() {
    // Every truncation of real metadata: errors, never panics.
    let text = metadata_of(&fixture("pv0"));
    for len in 0..text.len() {
        if text.is_char_boundary(len) {
            let _ = parse_vg(&text[..len]);
        }
    }
    assert!(parse_vg("contents = \"Text\"\n").is_err());
    assert!(parse_vg("vg { id = \"x\" seqno = 1 extent_size = 0 }").is_err());
    assert!(parse_vg("vg { id = \"x\" seqno = -1 extent_size = 8 }").is_err());
    let lv = |body: &str| {
        format!(
            "vg {{ id = \"v\" seqno = 1 extent_size = 8192
              physical_volumes {{ pv0 {{ id = \"p\" pe_start = 2048 }} }}
              logical_volumes {{ lv {{ id = \"l\" status = [\"READ\", \"VISIBLE\"] {body} }} }} }}"
        )
    };
    let reason = |body: &str| {
        let vg = parse_vg(&lv(body)).unwrap();
        vg.linear_table(&vg.lvs[0]).unwrap_err()
    };
    assert_eq!(
        reason("segment1 { start_extent = 0 extent_count = 1 type = \"thin\" thin_pool = \"p\" }"),
        "it has a thin segment"
    );
    assert_eq!(
        reason("segment1 { start_extent = 0 extent_count = 1 type = \"raid1\" }"),
        "it has a raid1 segment"
    );
    assert_eq!(
        reason("segment1 { start_extent = 0 extent_count = 1 type = \"striped\" stripe_count = 1 stripes = [\"pv9\", 0] }"),
        "its segment names an unknown PV pv9"
    );
    assert_eq!(
        reason("segment1 { start_extent = 1 extent_count = 1 type = \"striped\" stripe_count = 1 stripes = [\"pv0\", 0] }"),
        "its segments leave a gap or overlap"
    );
    assert_eq!(
        reason("segment1 { start_extent = 0 extent_count = 4611686018427387904 type = \"striped\" stripe_count = 1 stripes = [\"pv0\", 0] }"),
        "its extents lie beyond any device"
    );
    assert_eq!(reason(""), "it has no segments");
    // A snapshot: its copy-on-write store looks linear, but is no file system.
    let snap = parse_vg(
        "vg { id = \"v\" seqno = 1 extent_size = 8
         physical_volumes { pv0 { id = \"p\" pe_start = 2048 } }
         logical_volumes {
           root { id = \"r\" status = [\"VISIBLE\"] segment1 { start_extent = 0 extent_count = 1 type = \"striped\" stripe_count = 1 stripes = [\"pv0\", 0] } }
           snap { id = \"s\" status = [\"VISIBLE\"] segment1 { start_extent = 0 extent_count = 1 type = \"striped\" stripe_count = 1 stripes = [\"pv0\", 1] } }
           snapshot0 { id = \"x\" status = [\"READ\"] segment1 { start_extent = 0 extent_count = 1 type = \"snapshot\" origin = \"root\" cow_store = \"snap\" } }
         } }",
    )
    .unwrap();
    assert!(snap.linear_table(&snap.lvs[0]).is_ok());
    assert!(snap
        .linear_table(&snap.lvs[1])
        .unwrap_err()
        .contains("snapshot"));
    assert!(snap
        .linear_table(&snap.lvs[2])
        .unwrap_err()
        .contains("hidden"));
    let hidden = parse_vg(&lv("").replace("\"VISIBLE\"", "\"X\"")).unwrap();
    assert!(hidden
        .linear_table(&hidden.lvs[0])
        .unwrap_err()
        .contains("hidden"));
    assert!(parse_vg(&lv(
        "segment1 { start_extent = 0 extent_count = 1 type = \"striped\" stripe_count = 1 stripes = [\"pv0\", -1] }"
    ))
    .is_err());
}

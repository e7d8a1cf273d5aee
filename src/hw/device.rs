//! A device as the logs name it: subsystem, kernel name and, for PCI and USB, the
//! vendor:product pair read from its modalias, e.g. `pci 0000:00:02.0 (8086:10d3)`.

/// A device that has a modalias.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    /// Its path under /sys, e.g. `/devices/pci0000:00/0000:00:02.0`.
    pub devpath: String,
    /// `pci`, `usb`, `virtio`, ... when known.
    pub subsystem: Option<String>,
    /// What `modules.alias` is matched against.
    pub modalias: String,
}

impl Device {
    /// `pci 0000:00:02.0 (8086:10d3)`, `usb 1-1:1.0 (0627:0001)`, `virtio virtio0`.
    pub fn describe(&self) -> String {
        let name = self.devpath.rsplit('/').next().unwrap_or_default();
        let subsystem = self
            .subsystem
            .as_deref()
            .or_else(|| self.modalias.split_once(':').map(|(s, _)| s))
            .unwrap_or("device");
        match ids(&self.modalias) {
            Some(ids) => format!("{subsystem} {name} ({ids})"),
            None => format!("{subsystem} {name}"),
        }
    }
}

/// `vendor:product` in lower case from a PCI or USB modalias
/// (`pci:v00008086d000010D3...` -> `8086:10d3`, `usb:v0627p0001...` -> `0627:0001`).
pub fn ids(modalias: &str) -> Option<String> {
    let hex = |s: &str, len: usize| {
        let h = s.get(..len)?;
        h.bytes()
            .all(|b| b.is_ascii_hexdigit())
            .then(|| h.to_ascii_lowercase())
    };
    if let Some(rest) = modalias.strip_prefix("pci:v") {
        let vendor = hex(rest, 8)?;
        let device = hex(rest.get(8..)?.strip_prefix('d')?, 8)?;
        return Some(format!("{}:{}", &vendor[4..], &device[4..]));
    }
    if let Some(rest) = modalias.strip_prefix("usb:v") {
        let vendor = hex(rest, 4)?;
        let product = hex(rest.get(4..)?.strip_prefix('p')?, 4)?;
        return Some(format!("{vendor}:{product}"));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_pci_usb_and_others() {
        let d = Device {
            devpath: "/devices/pci0000:00/0000:00:02.0".into(),
            subsystem: Some("pci".into()),
            modalias: "pci:v00008086d000010D3sv00008086sd0000A01Fbc02sc00i00".into(),
        };
        assert_eq!(d.describe(), "pci 0000:00:02.0 (8086:10d3)");
        let d = Device {
            devpath: "/devices/pci0000:00/0000:00:04.0/usb1/1-1/1-1:1.0".into(),
            subsystem: None,
            modalias: "usb:v0627p0001d0000dc00dsc00dp00ic03isc01ip01in00".into(),
        };
        assert_eq!(d.describe(), "usb 1-1:1.0 (0627:0001)");
        let d = Device {
            devpath: "/devices/pci0000:00/0000:00:03.0/virtio0".into(),
            subsystem: Some("virtio".into()),
            modalias: "virtio:d00000001v00001AF4".into(),
        };
        assert_eq!(d.describe(), "virtio virtio0");
        assert_eq!(ids("pci:vXYZ"), None);
        assert_eq!(ids("usb:v0627"), None);
        assert_eq!(ids("pci:v00008086d0000"), None);
        assert_eq!(ids("pci:v0000808éd000010D3"), None);
    }
}

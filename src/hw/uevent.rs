//! Kernel uevents as the kernel multicasts them on a `NETLINK_KOBJECT_UEVENT` socket (group 1):
//! `ACTION@DEVPATH\0KEY=VALUE\0KEY=VALUE\0...`, e.g. `add@/devices/pci0000:00/0000:00:02.0\0
//! ACTION=add\0DEVPATH=...\0SUBSYSTEM=pci\0MODALIAS=pci:v00008086d000010D3...\0SEQNUM=812\0`.
//! udev's re-broadcasts on group 2 start with `libudev` and a binary header; they are
//! recognised and skipped. Sans-IO: bytes in, [`Uevent`] out.

/// The largest message parsed; the kernel's are at most a few KiB (UEVENT_BUFFER_SIZE 2048
/// bytes of variables plus the header).
pub const MAX_MESSAGE: usize = 64 * 1024;

/// Why a datagram is not a kernel uevent. One sentence each.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UeventError {
    #[error("the uevent is empty")]
    Empty,
    #[error("the uevent is {0} bytes, more than a kernel uevent can be")]
    TooLong(usize),
    #[error("the uevent is not text")]
    NotText,
    #[error("the uevent does not start with ACTION@DEVPATH")]
    NoHeader,
    #[error("the uevent has no action before its @")]
    NoAction,
    #[error("the uevent's device path `{0}` does not start with /")]
    BadDevpath(String),
    #[error("the uevent's field {0} is not KEY=VALUE")]
    BadField(usize),
}

/// What happened to the device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Add,
    Remove,
    Change,
    Move,
    Online,
    Offline,
    Bind,
    Unbind,
    /// An action this kboot does not know (kept as sent).
    Other(String),
}

impl Action {
    fn from_word(w: &str) -> Action {
        match w {
            "add" => Action::Add,
            "remove" => Action::Remove,
            "change" => Action::Change,
            "move" => Action::Move,
            "online" => Action::Online,
            "offline" => Action::Offline,
            "bind" => Action::Bind,
            "unbind" => Action::Unbind,
            other => Action::Other(other.to_string()),
        }
    }
}

/// One kernel uevent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uevent {
    pub action: Action,
    /// The device under /sys, e.g. `/devices/pci0000:00/0000:00:02.0`.
    pub devpath: String,
    /// Every `KEY=VALUE` in order (ACTION, DEVPATH and SEQNUM included).
    pub vars: Vec<(String, String)>,
}

impl Uevent {
    /// The value of a variable, e.g. `SUBSYSTEM`, `MODALIAS`, `INTERFACE`, `DEVNAME`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.vars
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
    /// `SUBSYSTEM=`: pci, usb, net, block, ...
    pub fn subsystem(&self) -> Option<&str> {
        self.get("SUBSYSTEM")
    }
    /// `MODALIAS=`: what modules.alias is matched against.
    pub fn modalias(&self) -> Option<&str> {
        self.get("MODALIAS").filter(|m| !m.is_empty())
    }
}

/// Parse one datagram. `Ok(None)` for udev's own `libudev` messages, which kboot ignores.
pub fn parse(msg: &[u8]) -> Result<Option<Uevent>, UeventError> {
    if msg.is_empty() {
        return Err(UeventError::Empty);
    }
    if msg.len() > MAX_MESSAGE {
        return Err(UeventError::TooLong(msg.len()));
    }
    if msg.starts_with(b"libudev\0") {
        return Ok(None);
    }
    let text = std::str::from_utf8(msg).map_err(|_| UeventError::NotText)?;
    let mut fields = text.split('\0');
    let header = fields.next().unwrap_or_default();
    let (action, devpath) = header.split_once('@').ok_or(UeventError::NoHeader)?;
    if action.is_empty() {
        return Err(UeventError::NoAction);
    }
    if !devpath.starts_with('/') {
        return Err(UeventError::BadDevpath(devpath.chars().take(200).collect()));
    }
    let mut vars = Vec::new();
    for (i, field) in fields.enumerate() {
        // The message ends in NUL, so the last field is empty.
        if field.is_empty() {
            continue;
        }
        let (k, v) = field.split_once('=').ok_or(UeventError::BadField(i + 1))?;
        if k.is_empty() {
            return Err(UeventError::BadField(i + 1));
        }
        vars.push((k.to_string(), v.to_string()));
    }
    Ok(Some(Uevent {
        action: Action::from_word(action),
        devpath: devpath.to_string(),
        vars,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pci_add_event() {
        let msg = b"add@/devices/pci0000:00/0000:00:02.0\0ACTION=add\0\
DEVPATH=/devices/pci0000:00/0000:00:02.0\0SUBSYSTEM=pci\0PCI_ID=8086:10D3\0\
MODALIAS=pci:v00008086d000010D3sv00008086sd0000A01Fbc02sc00i00\0SEQNUM=812\0";
        let ev = parse(msg).expect("parses").expect("a kernel event");
        assert_eq!(ev.action, Action::Add);
        assert_eq!(ev.devpath, "/devices/pci0000:00/0000:00:02.0");
        assert_eq!(ev.subsystem(), Some("pci"));
        assert_eq!(
            ev.modalias(),
            Some("pci:v00008086d000010D3sv00008086sd0000A01Fbc02sc00i00")
        );
        assert_eq!(ev.get("SEQNUM"), Some("812"));
        assert_eq!(ev.get("NOPE"), None);
    }

    #[test]
    fn net_and_block_events_and_values_with_equals() {
        let ev = parse(
            b"add@/devices/virtual/net/eth0\0ACTION=add\0SUBSYSTEM=net\0INTERFACE=eth0\0IFINDEX=2",
        )
        .expect("parses")
        .expect("a kernel event");
        assert_eq!(ev.get("INTERFACE"), Some("eth0"));
        assert_eq!(ev.modalias(), None);
        let ev = parse(b"change@/devices/x\0DEVNAME=sda\0X=a=b\0")
            .expect("parses")
            .expect("a kernel event");
        assert_eq!(ev.action, Action::Change);
        assert_eq!(ev.get("X"), Some("a=b"));
        let ev = parse(b"frob@/x").expect("parses").expect("a kernel event");
        assert_eq!(ev.action, Action::Other("frob".into()));
    }

    #[test]
    fn udev_messages_are_skipped() {
        let mut msg = b"libudev\0\xfe\xed\xca\xfe".to_vec();
        msg.extend([0u8, 0, 0, 40, 0xff, 0xfe]);
        assert_eq!(parse(&msg), Ok(None));
    }

    #[test]
    fn malformed_messages_are_errors() {
        assert_eq!(parse(b""), Err(UeventError::Empty));
        assert_eq!(parse(b"add /devices/x\0"), Err(UeventError::NoHeader));
        assert_eq!(parse(b"@/devices/x\0"), Err(UeventError::NoAction));
        assert!(matches!(
            parse(b"add@devices\0"),
            Err(UeventError::BadDevpath(_))
        ));
        assert_eq!(
            parse(b"add@/devices/x\0ACTION=add\0junk\0"),
            Err(UeventError::BadField(2))
        );
        assert_eq!(
            parse(b"add@/devices/x\0=v\0"),
            Err(UeventError::BadField(1))
        );
        assert_eq!(parse(b"add@/\xff\xfe"), Err(UeventError::NotText));
        let huge = vec![b'a'; MAX_MESSAGE + 1];
        assert_eq!(parse(&huge), Err(UeventError::TooLong(MAX_MESSAGE + 1)));
        let garbage: Vec<u8> = (0..4096u32).map(|i| (i * 7919 % 251) as u8).collect();
        assert!(parse(&garbage).is_err());
    }
}

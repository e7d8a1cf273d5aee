//! The menu: an app state machine (events and keys in, actions out), its ratatui view, and the
//! console set-up.

pub mod app;
pub mod consoles;
pub mod keys;
mod outbox;
mod term;
pub mod view;

pub use app::App;
pub use term::{RunOptions, UiError};

use crate::boot::BootSpec;
use crate::config::Menu;
use crate::fetch::Progress;

/// Work that waits for the menu's first frame (PID 1's late mounts and worker threads).
type Deferred = Box<dyn FnOnce() + Send>;
static AFTER_FIRST_FRAME: std::sync::Mutex<Option<Deferred>> = std::sync::Mutex::new(None);

/// Run `work` once the menu's first frame is drawn, on the menu's thread: on a slow or single
/// CPU the menu then appears before anything competes with it. If the menu cannot draw at all,
/// whoever runs it calls [`run_after_first_frame`].
pub fn after_first_frame(work: Deferred) {
    *AFTER_FIRST_FRAME.lock().unwrap_or_else(|p| p.into_inner()) = Some(work);
}

/// Run the work given to [`after_first_frame`], if it has not run yet.
pub fn run_after_first_frame() {
    let work = AFTER_FIRST_FRAME
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .take();
    if let Some(work) = work {
        work();
    }
}

/// Something the background workers tell the menu.
#[derive(Debug, Clone)]
pub enum UiEvent {
    /// One line for the status bar about the network ("eth0: waiting for link", "eth0 10.0.2.15/24").
    NetStatus(String),
    /// A config was found and parsed: show it.
    Menu { source: String, menu: Menu },
    /// A line for the log.
    Log(String),
    /// A fetch is running.
    Progress(Progress),
    /// Something failed: one sentence, shown to the user; the menu stays usable.
    Error(String),
    /// The default entry's files are downloading early, while the menu counts down.
    Preload(app::Preload),
    /// What is known of the initramfs flavour in an entry's initrd (by its id), shown as it is
    /// in the entry's details ("initramfs-tools (detected in the initrd)").
    Detected { entry: String, flavor: String },
    /// The last Boot/Prompt command finished without leaving kboot (for example the prompt
    /// loaded a new menu): leave the progress screen.
    Ready,
    /// The Wi-Fi screen's scan: the networks in range (strongest first), or why there are none.
    WifiScan(Result<Vec<app::WifiNetwork>, String>),
    /// A join from the Wi-Fi screen failed: why, as one sentence.
    WifiStatus(String),
    /// A join from the Wi-Fi screen worked: back to the menu, which discovery over the new
    /// link fills.
    WifiJoined(String),
}

/// What the menu asks the supervisor to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UiCommand {
    Boot(BootSpec),
    /// Text typed at the `kboot:` prompt, to resolve against the current menu.
    Prompt(String),
    /// Load another config (an entry that chains to one) and show its menu.
    LoadConfig(String),
    Reboot,
    PowerOff,
    /// Stop the running fetch.
    Cancel,
    /// Look inside an entry's initrds for its initramfs flavour (answered by
    /// [`UiEvent::Detected`]); the details of a diskless entry ask for it.
    Inspect {
        entry: String,
        initrds: Vec<String>,
        sha256: std::collections::BTreeMap<String, String>,
    },
    /// Scan for Wi-Fi networks (answered by [`UiEvent::WifiScan`]).
    WifiScan,
    /// Join a network picked on the Wi-Fi screen, then look for a config over it.
    WifiJoin {
        ssid: Vec<u8>,
        passphrase: Option<crate::net::wifi::Secret>,
        security: crate::net::wifi::Security,
    },
}

/// Run the menu on every console named in [`RunOptions::consoles`] at once (stdin/stdout when
/// there are none) until the event channel is closed or nobody listens to the commands any
/// more; then restore the consoles and return.
///
/// Each console gets raw mode, no alternate screen, its own size (a VT's from the kernel; a
/// serial line's from [`RunOptions::size`], else the terminal's cursor position report, else
/// 80x24) and its own screen; keys from any console drive the one menu. A panic inside the
/// menu is caught and returned as [`UiError::Panic`], so the caller (PID 1) can restart it.
pub fn run(
    events: &std::sync::mpsc::Receiver<UiEvent>,
    commands: std::sync::mpsc::Sender<UiCommand>,
    opts: RunOptions,
) -> Result<(), UiError> {
    term::run(events, commands, opts)
}

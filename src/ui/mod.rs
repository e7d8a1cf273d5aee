//! The menu: an app state machine (events and keys in, actions out), its ratatui view, and the
//! console set-up.

pub mod app;
pub mod view;

pub use app::App;

use crate::boot::BootSpec;
use crate::config::Menu;
use crate::fetch::Progress;

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
    /// The last Boot/Prompt command finished without leaving kboot (for example the prompt
    /// loaded a new menu): leave the progress screen.
    Ready,
}

/// What the menu asks the supervisor to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UiCommand {
    Boot(BootSpec),
    /// Text typed at the `kboot:` prompt, to resolve against the current menu.
    Prompt(String),
    Reboot,
    PowerOff,
    /// Stop the running fetch.
    Cancel,
}


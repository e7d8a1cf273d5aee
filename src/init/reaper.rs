//! PID 1 inherits every orphan: reap them so no zombie piles up.
//!
//! kboot itself starts no child processes yet; anything that does later must track its own
//! children's pids, because a global `waitpid(-1)` races with `std::process::Child::wait`.

use nix::sys::wait::{waitpid, WaitPidFlag};
use nix::unistd::Pid;

/// A thread that waits for any child and throws the status away, forever.
pub fn spawn() {
    let _ = std::thread::Builder::new()
        .name("reaper".into())
        .spawn(|| loop {
            match waitpid(Pid::from_raw(-1), Some(WaitPidFlag::__WALL)) {
                Ok(_) => {}
                // No children (ECHILD) or interrupted: look again in a while.
                Err(_) => std::thread::sleep(std::time::Duration::from_millis(500)),
            }
        });
}

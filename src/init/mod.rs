//! PID 1 duties: mounts, the console, reaping children, power actions, and the supervisor that
//! keeps the menu alive whatever happens.

pub mod args;
pub mod clock;
pub mod console;
pub mod lockdown;
pub mod mounts;
pub mod power;
pub mod reaper;
pub mod supervisor;

/// Entry point when kboot runs as PID 1. Never returns.
pub fn run_as_pid1() -> ! {
    let started = std::time::Instant::now();
    // Only what the menu's first frame needs: /dev for the consoles, /proc for the command
    // line. The rest waits for that frame (`late_setup`).
    let mount_errors = mounts::mount_for_menu();
    console::attach();
    for e in &mount_errors {
        eprintln!("kboot: {e}");
    }
    let cmdline = std::fs::read_to_string("/proc/cmdline").unwrap_or_default();
    console::quiet_kernel(&cmdline);
    let args = args::KernelArgs::parse(&cmdline);
    if let Some(proxy) = &args.proxy {
        crate::fetch::proxy::set_default(crate::fetch::proxy::ProxySettings::all(proxy));
    }
    supervisor::run(args, supervisor::Mode::Pid1, started)
}

/// PID 1's set-up that the menu's first frame does not need, done right after it (before the
/// drivers, discovery and the disk scan start): the other mounts, lockdown under Secure Boot,
/// the reaper, the clock check.
/// Each problem is one line for the log.
pub fn late_setup(log: &mut dyn FnMut(String)) {
    for e in mounts::mount_rest() {
        log(e);
    }
    // Before anything is loaded (modules, kernels): Secure Boot's chain goes on in lockdown.
    if let Some(line) = lockdown::apply().line() {
        log(line);
    }
    reaper::spawn();
    clock::warn_if_implausible(log);
}

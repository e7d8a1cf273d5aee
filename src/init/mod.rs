//! PID 1 duties: mounts, the console, reaping children, power actions, and the supervisor that
//! keeps the menu alive whatever happens.

pub mod args;
pub mod clock;
pub mod console;
pub mod lockdown;
pub mod mounts;
pub mod payload;
pub mod power;
pub mod reaper;
pub mod supervisor;

/// Entry point when kboot runs as PID 1. Never returns.
pub fn run_as_pid1() -> ! {
    let started = std::time::Instant::now();
    // Mount first: /dev must exist before the console can be opened.
    let mount_errors = mounts::mount_early();
    console::attach();
    for e in &mount_errors {
        eprintln!("kboot: {e}");
    }
    // Before anything is loaded (modules, kernels): Secure Boot's chain goes on in lockdown.
    if let Some(line) = lockdown::apply().line() {
        eprintln!("kboot: {line}");
    }
    reaper::spawn();
    let cmdline = std::fs::read_to_string("/proc/cmdline").unwrap_or_default();
    console::quiet_kernel(&cmdline);
    let args = args::KernelArgs::parse(&cmdline);
    if let Some(proxy) = &args.proxy {
        crate::fetch::proxy::set_default(crate::fetch::proxy::ProxySettings::all(proxy));
    }
    supervisor::run(args, supervisor::Mode::Pid1, started)
}

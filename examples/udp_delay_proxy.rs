//! The test suite's fault-injecting UDP proxy as a program, for `qemu/bench-fetch`.
//!
//! `udp_delay_proxy LISTEN SERVER [--delay-ms D] [--drop PCT] [--dup PCT] [--reorder PCT]
//! [--seed N]`, e.g. `udp_delay_proxy 127.0.0.1:6970 127.0.0.1:6969 --delay-ms 1`: TFTP
//! clients talk to LISTEN; the server's transfer IDs are mirrored. Runs until killed.

#[path = "../tests/support/udp_proxy.rs"]
mod udp_proxy;

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use udp_proxy::{Faults, Proxy};

fn parse() -> Result<(SocketAddr, SocketAddr, Faults), String> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: udp_delay_proxy LISTEN SERVER [--delay-ms D] [--drop PCT] [--dup PCT] [--reorder PCT] [--seed N]";
    let listen = args.next().ok_or(usage)?;
    let server = args.next().ok_or(usage)?;
    let listen: SocketAddr = listen
        .parse()
        .map_err(|e| format!("LISTEN {listen}: {e}"))?;
    let server: SocketAddr = server
        .parse()
        .map_err(|e| format!("SERVER {server}: {e}"))?;
    let mut faults = Faults::default();
    while let Some(flag) = args.next() {
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let num = |v: &str| -> Result<u64, String> {
            v.parse::<u64>().map_err(|e| format!("{flag} {v}: {e}"))
        };
        match flag.as_str() {
            "--delay-ms" => {
                let ms: f64 = value.parse().map_err(|e| format!("{flag} {value}: {e}"))?;
                faults.delay = Duration::from_secs_f64(ms.max(0.0) / 1e3);
            }
            "--drop" => faults.drop_pct = num(&value)?.min(100) as u32,
            "--dup" => faults.dup_pct = num(&value)?.min(100) as u32,
            "--reorder" => faults.reorder_pct = num(&value)?.min(100) as u32,
            "--seed" => faults.seed = num(&value)?,
            _ => return Err(format!("unknown option {flag}\n{usage}")),
        }
    }
    Ok((listen, server, faults))
}

fn main() -> ExitCode {
    let (listen, server, faults) = match parse() {
        Ok(x) => x,
        Err(e) => {
            eprintln!("udp_delay_proxy: {e}");
            return ExitCode::from(2);
        }
    };
    let proxy = match Proxy::start(listen, server, faults) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("udp_delay_proxy: cannot listen on {listen}: {e}");
            return ExitCode::FAILURE;
        }
    };
    eprintln!(
        "udp_delay_proxy: {} -> {server} ({})",
        proxy.addr(),
        faults.describe()
    );
    loop {
        std::thread::sleep(Duration::from_secs(3600));
    }
}

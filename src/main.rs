fn main() -> std::process::ExitCode {
    kboot::cli::main()
}

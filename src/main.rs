fn main() {
    kboot::cli::main();
}

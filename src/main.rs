fn main() -> std::process::ExitCode {
    pvr::cli::main()
}

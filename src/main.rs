//! The `ykien` binary: see `ykien --help`.

fn main() -> std::process::ExitCode {
    ykien::cli::main()
}

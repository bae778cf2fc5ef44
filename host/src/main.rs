//! The `rlhost` binary.
use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    rlhost::heap::keep_freed_memory();
    let cli = rlhost::cli::Cli::parse();
    match rlhost::cli::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One line: the outermost context and its cause, never a backtrace.
            let chain: Vec<String> = e.chain().map(|c| c.to_string()).collect();
            eprintln!("error: {}", chain.join(": ").lines().next().unwrap_or("failed"));
            ExitCode::FAILURE
        }
    }
}

//! The `citycore` command: parses the command line and runs the chosen subcommand.

use clap::Parser;

/// mimalloc instead of the system allocator: request handling allocates and frees many
/// small buffers across threads, where glibc's allocator spent a sixth of the time.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    let cli = citycore::cli::Cli::parse();
    citycore::cli::run(cli)
}

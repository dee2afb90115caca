//! The `citycore` command: parses the command line and runs the chosen subcommand.

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = citycore::cli::Cli::parse();
    citycore::cli::run(cli)
}

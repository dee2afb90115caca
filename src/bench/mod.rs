//! Benchmarks run by `citycore bench`.

pub mod ingest;

use clap::Args;

#[derive(Debug, Args)]
pub struct LocateBenchArgs {
    /// Number of generated grid polygons.
    #[arg(long, default_value_t = 60_000)]
    pub grids: usize,
}

/// Measures point-to-grid lookups per second.
///
/// # Errors
/// Fails when PostGIS is requested but unreachable.
pub async fn run_locate(_args: LocateBenchArgs) -> anyhow::Result<()> {
    anyhow::bail!("bench locate is not built yet")
}

//! The `kefu` command line, apart from the library: `args` (clap definitions), `commands` (what
//! each command calls; one `--config` and one `--knowledge` for all of them) and `output` (what
//! they print).

mod args;
mod commands;
mod output;

pub use args::Cli;
pub use commands::run;

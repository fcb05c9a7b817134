//! The `reelframe` binary: parse arguments, set up logging, run, map the outcome to an exit code.

use clap::Parser;
use reelframe::cli::{Cli, Command};
use reelframe::commands;
use reelframe::config::{
    BenchConfig, ExtractConfig, InspectConfig, MergeConfig, ServeConfig, SimilarConfig,
};

/// Exit code for usage and setup errors.
const EXIT_SETUP_ERROR: i32 = 2;

fn main() {
    let cli = Cli::parse();
    let code = match run(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("reelframe: error: {err:#}");
            EXIT_SETUP_ERROR
        }
    };
    std::process::exit(code);
}

fn run(cli: Cli) -> anyhow::Result<i32> {
    match cli.command {
        Command::Extract(args) => {
            reelframe::logging::init(args.verbose, args.quiet);
            let config = ExtractConfig::from_args(&args)?;
            commands::extract::run(&config)
        }
        Command::Merge(args) => {
            reelframe::logging::init(0, false);
            commands::merge::run(&MergeConfig::from_args(&args)?)
        }
        Command::Inspect(args) => {
            reelframe::logging::init(0, false);
            commands::inspect::run(&InspectConfig::from_args(&args)?)
        }
        Command::Worker => Ok(commands::worker::run()?),
        Command::Bench(args) => {
            reelframe::logging::init(0, args.quiet);
            commands::bench::run(&BenchConfig::from_args(&args)?)
        }
        Command::Serve(args) => {
            // info by default: the access log is one info line per request
            reelframe::logging::init(args.verbose + 1, args.quiet);
            let token = std::env::var("REELFRAME_TOKEN").ok();
            commands::serve::run(&ServeConfig::from_args(&args, token)?)
        }
        Command::Similar(args) => {
            reelframe::logging::init(0, false);
            commands::similar::run(&SimilarConfig::from_args(&args)?)
        }
    }
}

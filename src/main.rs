//! The `reelframe` binary: parse arguments, set up logging, run, map the outcome to an exit code.

use clap::{CommandFactory, FromArgMatches};
use reelframe::cli::{Cli, ColorChoice, Command};
use reelframe::commands;
use reelframe::config::{
    BenchConfig, ExtractConfig, GalleryConfig, InspectConfig, MergeConfig, ServeConfig,
    SimilarConfig,
};
use std::io::IsTerminal;

/// Exit code for usage and setup errors.
const EXIT_SETUP_ERROR: i32 = 2;

fn main() {
    // clap's own messages follow --color too, so it is read before clap parses the rest
    let color = ColorChoice::from_raw_args(std::env::args_os());
    let clap_color = match color {
        ColorChoice::Auto => clap::ColorChoice::Auto,
        ColorChoice::Always => clap::ColorChoice::Always,
        ColorChoice::Never => clap::ColorChoice::Never,
    };
    let matches = Cli::command().color(clap_color).get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|err| err.exit());
    let styled = cli.color.enabled(std::io::stderr().is_terminal());
    let code = match run(cli, styled) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("reelframe: error: {err:#}");
            EXIT_SETUP_ERROR
        }
    };
    std::process::exit(code);
}

fn run(cli: Cli, styled: bool) -> anyhow::Result<i32> {
    use reelframe::logging::init;
    match cli.command {
        Command::Extract(args) => {
            init(args.verbose, args.quiet, styled);
            let config = ExtractConfig::from_args(&args)?;
            commands::extract::run(&config, styled)
        }
        Command::Merge(args) => {
            init(0, false, styled);
            commands::merge::run(&MergeConfig::from_args(&args)?)
        }
        Command::Inspect(args) => {
            init(0, false, styled);
            commands::inspect::run(&InspectConfig::from_args(&args)?)
        }
        Command::Worker => Ok(commands::worker::run()?),
        Command::Bench(args) => {
            init(0, args.quiet, styled);
            commands::bench::run(&BenchConfig::from_args(&args)?)
        }
        Command::Serve(args) => {
            // info by default: the access log is one info line per request
            init(args.verbose + 1, args.quiet, styled);
            let token = std::env::var("REELFRAME_TOKEN").ok();
            commands::serve::run(&ServeConfig::from_args(&args, token)?)
        }
        Command::Similar(args) => {
            init(0, false, styled);
            commands::similar::run(&SimilarConfig::from_args(&args)?)
        }
        Command::Gallery(args) => {
            init(0, false, styled);
            commands::gallery::run(&GalleryConfig::from_args(&args)?)
        }
        Command::Completions { shell } => {
            let mut command = Cli::command();
            clap_complete::generate(shell, &mut command, "reelframe", &mut std::io::stdout());
            Ok(0)
        }
        Command::Man => {
            clap_mangen::Man::new(Cli::command()).render(&mut std::io::stdout())?;
            Ok(0)
        }
    }
}

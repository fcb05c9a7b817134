//! The subcommands: each builds a pipeline from a checked configuration and drives it.

pub mod bench;
pub mod extract;
pub mod gallery;
pub mod inspect;
mod interrupt;
pub mod merge;
mod outputs;
mod progress;
pub mod serve;
pub mod similar;
pub mod worker;

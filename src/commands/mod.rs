//! The subcommands: each builds a pipeline from a checked configuration and drives it.

pub mod bench;
pub mod extract;
pub mod inspect;
pub mod merge;
pub mod serve;
pub mod similar;
pub mod worker;

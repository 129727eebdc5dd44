//! The subcommands of the `patchline` binary, one file each.

pub mod demo;
pub mod run;
pub mod topics;

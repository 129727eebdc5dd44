//! The subcommands of the `patchline` binary, one file each.

pub mod demo;
pub mod eval;
pub mod run;
pub mod topics;
pub mod verify;

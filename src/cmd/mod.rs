//! The subcommands of the `patchline` binary, one file each.

pub mod demo;
pub mod eval;
pub mod publish;
pub mod run;
pub mod simulate;
pub mod topics;
pub mod verify;

//! Pure domain logic: no I/O.

pub mod command;

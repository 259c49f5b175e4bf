//! Link options for a smaller release binary (issue 11; README "Release binary size"). Each is
//! added only where it is known to work, so any other build links as before:
//!
//! - `-z pack-relative-relocs` (DT_RELR) stores the position-independent executable's ~33,000
//!   relative relocations as a bitmap: 0.78 MB less, and the binary stays a PIE (address-space
//!   layout randomisation kept). glibc 2.36 is the first to apply them, and the linker records
//!   that need (`GLIBC_ABI_DT_RELR`), so an older glibc refuses the binary by name rather than
//!   running it unrelocated. Added for a native release build on Linux whose own glibc is 2.36
//!   or newer (the Docker image builds and runs on Debian 12, glibc 2.36).
//! - `--icf=all` folds functions whose machine code is identical (Rust makes no promise that
//!   two functions have different addresses): 0.09 MB less. LLD's option, so only where rustc
//!   links with its own LLD: x86_64 Linux from Rust 1.90 on, no other linker configured.

use std::env;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=RUSTC_LINKER");
    let var = |name: &str| env::var(name).unwrap_or_default();
    let target = var("TARGET");
    if var("PROFILE") != "release" || !target.ends_with("-linux-gnu") {
        return;
    }
    if target == var("HOST") && glibc_version().is_some_and(|v| v >= (2, 36)) {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
    let flags = var("CARGO_ENCODED_RUSTFLAGS");
    let own_lld = target == "x86_64-unknown-linux-gnu"
        && rustc_minor().is_some_and(|minor| minor >= 90)
        && env::var_os("RUSTC_LINKER").is_none()
        && !["linker", "link-self-contained", "fuse-ld"]
            .iter()
            .any(|flag| flags.contains(flag));
    if own_lld {
        println!("cargo:rustc-link-arg-bins=-Wl,--icf=all");
    }
}

/// The build host's glibc (`getconf GNU_LIBC_VERSION` says `glibc 2.36`).
fn glibc_version() -> Option<(u32, u32)> {
    let out = Command::new("getconf")
        .arg("GNU_LIBC_VERSION")
        .output()
        .ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    let (major, minor) = text.trim().strip_prefix("glibc ")?.split_once('.')?;
    Some((major.parse().ok()?, minor.parse().ok()?))
}

/// The minor version of the rustc that builds this (`rustc 1.95.0 (...)`).
fn rustc_minor() -> Option<u32> {
    let rustc = env::var_os("RUSTC")?;
    let out = Command::new(rustc).arg("-V").output().ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    let version = text.split_whitespace().nth(1)?;
    let mut parts = version.split('.');
    (parts.next()? == "1").then_some(())?;
    parts.next()?.parse().ok()
}

//! Shared helpers for the integration tests.
#![allow(dead_code)]

use std::path::PathBuf;

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `../shared/corpora/<sub>` beside the repository, if present. Tests that
/// need it print why they skip when it is absent.
pub fn corpus(sub: &str) -> Option<PathBuf> {
    let base = std::env::var_os("KYSO_CORPORA")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("../shared/corpora"));
    let p = base.join(sub);
    if p.exists() {
        Some(p)
    } else {
        println!(
            "SKIPPED: {} is absent (outside test suites live in ../shared/corpora)",
            p.display()
        );
        None
    }
}

pub fn at(s: &str) -> i64 {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .expect("RFC 3339 time")
        .unix_timestamp()
}

/// Run the `kyso` binary from the repository root: (exit code, stdout, stderr).
pub fn kyso(args: &[&str]) -> (Option<i32>, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_kyso"))
        .current_dir(root())
        .args(args)
        .output()
        .expect("running kyso");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Peak RSS (KiB) of the largest child process that has exited.
pub fn children_peak_rss_kib() -> i64 {
    // SAFETY: getrusage writes into the zeroed struct we own.
    #[allow(unsafe_code)]
    unsafe {
        let mut ru: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_CHILDREN, &mut ru);
        ru.ru_maxrss
    }
}

/// A `key<TAB>reason` list under tests/ (lines starting with `#` are comments).
pub fn reasons(file: &str) -> std::collections::BTreeMap<String, String> {
    std::fs::read_to_string(root().join("tests").join(file))
        .expect("reading a reasons list")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| {
            l.split_once('\t')
                .map(|(a, b)| (a.to_string(), b.to_string()))
        })
        .collect()
}

/// Whether an outside tool runs (`NAME --version`). Missing: a printed
/// skip, or a failure when CI requires the signing tools
/// (KYSO_REQUIRE_SIGN_TOOLS=1).
pub fn have_tool(name: &str, install: &str) -> bool {
    if std::process::Command::new(name)
        .arg("--version")
        .output()
        .is_ok()
    {
        return true;
    }
    assert!(
        !std::env::var("KYSO_REQUIRE_SIGN_TOOLS").is_ok_and(|v| v == "1"),
        "KYSO_REQUIRE_SIGN_TOOLS=1 but {name} is not installed ({install})"
    );
    println!("SKIPPED: {name} is not installed ({install})");
    false
}

/// Run the `kyso` binary and measure that one run: (exit code, stdout,
/// its own peak RSS in KiB, wall time).
pub fn kyso_measured(args: &[&std::ffi::OsStr]) -> (Option<i32>, String, i64, std::time::Duration) {
    use std::io::Read;
    let t = std::time::Instant::now();
    // Reaped by the wait4 below, which also gives this run's rusage.
    #[allow(clippy::zombie_processes)]
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_kyso"))
        .current_dir(root())
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("running kyso");
    let mut out = String::new();
    child
        .stdout
        .take()
        .expect("stdout")
        .read_to_string(&mut out)
        .expect("reading kyso's output");
    let mut status = 0i32;
    // SAFETY: wait4 on our own child, writing into a zeroed struct we own;
    // the Child is not waited on again.
    #[allow(unsafe_code)]
    let ru = unsafe {
        let mut ru: libc::rusage = std::mem::zeroed();
        libc::wait4(child.id() as libc::pid_t, &mut status, 0, &mut ru);
        ru
    };
    let code = if libc::WIFEXITED(status) {
        Some(libc::WEXITSTATUS(status))
    } else {
        None
    };
    (code, out, ru.ru_maxrss, t.elapsed())
}

/// The entries of a ZIP (read by the `zip` crate), in order.
pub fn zip_entries(zip: &[u8]) -> Vec<(String, Vec<u8>)> {
    use std::io::Read;
    let mut a = zip::ZipArchive::new(std::io::Cursor::new(zip)).expect("a ZIP");
    (0..a.len())
        .map(|i| {
            let mut f = a.by_index(i).expect("an entry");
            let mut b = Vec::new();
            f.read_to_end(&mut b).expect("its data");
            (f.name().to_string(), b)
        })
        .collect()
}

//! `bash scripts/bench-ui`: the desktop app's cold start to an interactive sign-in screen,
//! and its resident memory after sign-in, on an Xvfb display through tauri-driver.
//!
//! Cold start is timed from the WebDriver session request (which launches the app) to
//! the sign-in table in the page, so it includes starting the app, WebKit, the UI, the
//! keyring and the database, plus the driver's own session set-up. The first start also
//! builds the demo bank. Memory is the summed resident set of the app process and its
//! WebKit processes, read from /proc.

#[path = "../tests/driver/mod.rs"]
mod driver;

use std::time::{Duration, Instant};

use driver::{click, connect, find, start_driver, wait_text};

const SIGN_IN_TABLE: &str = r#"tr[data-testid="identity"][data-name="Tom Teller"]"#;
const RUNS: usize = 5;

/// Resident memory (KiB) of every process in the driver's group whose executable is the
/// app, plus all their descendants (WebKit's web and network processes).
fn resident_kib(group: u32, app: &str) -> u64 {
    let stat = |pid: u32| -> Option<(u32, u32)> {
        let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        let rest = text.rsplit_once(')')?.1;
        let fields: Vec<&str> = rest.split_whitespace().collect();
        Some((fields.get(1)?.parse().ok()?, fields.get(2)?.parse().ok()?))
    };
    let pids: Vec<u32> = std::fs::read_dir("/proc")
        .map(|d| {
            d.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
                .collect()
        })
        .unwrap_or_default();
    let app_path = std::fs::canonicalize(app).unwrap_or_default();
    let mut wanted: Vec<u32> = pids
        .iter()
        .copied()
        .filter(|&p| {
            stat(p).is_some_and(|(_, pgrp)| pgrp == group)
                && std::fs::read_link(format!("/proc/{p}/exe")).ok() == Some(app_path.clone())
        })
        .collect();
    let mut grew = true;
    while grew {
        grew = false;
        for &p in &pids {
            if !wanted.contains(&p) && stat(p).is_some_and(|(ppid, _)| wanted.contains(&ppid)) {
                wanted.push(p);
                grew = true;
            }
        }
    }
    wanted
        .iter()
        .filter_map(|p| {
            let status = std::fs::read_to_string(format!("/proc/{p}/status")).ok()?;
            let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
            line.split_whitespace().nth(1)?.parse::<u64>().ok()
        })
        .sum()
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let app = std::env::args().nth(1).unwrap_or_else(|| {
        let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into());
        format!("{target}/release/pqbank-desktop")
    });
    assert!(
        std::path::Path::new(&app).is_file(),
        "no app binary at {app}"
    );
    let data = tempfile::tempdir().expect("scratch data folder");
    let mut starts = Vec::new();
    let mut first = Duration::ZERO;
    let mut rss = Vec::new();
    for run in 0..=RUNS {
        let driver = start_driver(data.path());
        let t = Instant::now();
        let c = connect(&driver, &app).await;
        find(&c, SIGN_IN_TABLE).await;
        let elapsed = t.elapsed();
        if run == 0 {
            first = elapsed;
        } else {
            starts.push(elapsed);
        }
        click(&c, &format!("{SIGN_IN_TABLE} [data-testid=\"sign-in\"]")).await;
        wait_text(&c, r#"[data-testid="signed-in-as"]"#, "Tom Teller").await;
        find(&c, r#"[data-testid="drawer-strip"]"#).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        rss.push(resident_kib(driver.group(), &app));
        c.close().await.expect("session closed");
    }
    rss.sort_unstable();
    println!("pqbank bench ui ({RUNS} starts on an existing bank, Xvfb 1280x800)");
    println!(
        "  first start (builds the demo bank)   {:>8.0} ms",
        first.as_secs_f64() * 1e3
    );
    println!(
        "  cold start to sign-in screen   p50 {:>8.0} ms   max {:>6.0} ms",
        median(starts.clone()).as_secs_f64() * 1e3,
        starts
            .iter()
            .max()
            .copied()
            .unwrap_or_default()
            .as_secs_f64()
            * 1e3
    );
    println!(
        "  resident memory after sign-in  p50 {:>8.1} MiB (app + WebKit processes)",
        rss[rss.len() / 2] as f64 / 1024.0
    );
}

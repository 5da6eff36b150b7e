//! Driving the real app through tauri-driver: shared by the end-to-end test and the UI
//! benchmark (`examples/bench_ui.rs`).
#![allow(dead_code, reason = "each user takes the helpers it needs")]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};

/// How long any one step may take.
pub const WAIT: Duration = Duration::from_secs(60);

/// tauri-driver and the WebKitWebDriver it starts, ended together on drop.
pub struct Driver {
    child: Child,
    port: u16,
}

impl Driver {
    /// The process group of the driver and everything it started (the app included).
    pub fn group(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // The driver runs in its own process group: end WebKitWebDriver with it, or it
        // keeps its port and breaks the next run.
        let _ended = Command::new("kill")
            .args(["-TERM", "--", &format!("-{}", self.child.id())])
            .status();
        let _reaped = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn tauri_driver() -> PathBuf {
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default();
    let candidates = [
        std::env::var_os("CARGO_HOME")
            .map(|h| PathBuf::from(h).join("bin/tauri-driver"))
            .unwrap_or_default(),
        home.join(".cargo/bin/tauri-driver"),
        PathBuf::from("/usr/local/bin/tauri-driver"),
    ];
    candidates.into_iter().find(|p| p.is_file()).expect(
        "tauri-driver is not installed: run the tests with `bash scripts/test`, which installs it",
    )
}

pub fn start_driver(data: &Path) -> Driver {
    assert!(
        std::env::var_os("DISPLAY").is_some(),
        "no DISPLAY: the end-to-end test needs Xvfb; run it with `bash scripts/test`"
    );
    assert!(
        std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some(),
        "no D-Bus session: the end-to-end test needs the Secret Service; run it with `bash scripts/test`"
    );
    let port = free_port();
    let native = free_port();
    let mut command = Command::new(tauri_driver());
    command
        .args([
            "--port",
            &port.to_string(),
            "--native-port",
            &native.to_string(),
        ])
        .env("XDG_DATA_HOME", data)
        .env_remove("PQBANK_DATABASE_URL")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    let child = command.spawn().expect("tauri-driver starts");
    Driver { child, port }
}

pub async fn connect(driver: &Driver, app: &str) -> Client {
    let mut caps = serde_json::Map::new();
    caps.insert("browserName".into(), "wry".into());
    caps.insert(
        "tauri:options".into(),
        serde_json::json!({ "application": app }),
    );
    let url = format!("http://127.0.0.1:{}", driver.port);
    let deadline = Instant::now() + WAIT;
    // tauri-driver accepts connections before WebKitWebDriver is ready: retry.
    loop {
        match ClientBuilder::native()
            .capabilities(caps.clone())
            .connect(&url)
            .await
        {
            Ok(c) => return c,
            Err(e) if Instant::now() < deadline => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
            Err(e) => panic!("no WebDriver session: {e}"),
        }
    }
}

pub async fn find(c: &Client, css: &str) -> fantoccini::elements::Element {
    c.wait()
        .at_most(WAIT)
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css} did not appear: {e}"))
}

pub async fn click(c: &Client, css: &str) {
    find(c, css)
        .await
        .click()
        .await
        .unwrap_or_else(|e| panic!("click {css}: {e}"));
}

pub async fn type_into(c: &Client, css: &str, text: &str) {
    let e = find(c, css).await;
    e.clear()
        .await
        .unwrap_or_else(|e| panic!("clear {css}: {e}"));
    e.send_keys(text)
        .await
        .unwrap_or_else(|e| panic!("type into {css}: {e}"));
}

/// Waits until the element's text contains `needle`; returns the text.
pub async fn wait_text(c: &Client, css: &str, needle: &str) -> String {
    let deadline = Instant::now() + WAIT;
    loop {
        let text = match c.find(Locator::Css(css)).await {
            Ok(e) => e.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        if text.contains(needle) {
            return text;
        }
        assert!(
            Instant::now() < deadline,
            "{css} never said {needle:?}; last: {text:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

//! The installation's CRL pins on disk: they persist, only rise, are shared safely by two
//! handles on the same file, are written atomically, and a damaged file is an error
//! rather than an empty table. The workstation's log pin likewise.

use std::sync::Arc;

use pqbank_pki::Fingerprint;
use pqbank_service::{CrlPins, FileCrlPins, FileLogPin, LogPin, MemoryCrlPins, lock_beside};

fn temp_dir() -> std::path::PathBuf {
    let mut random = [0u8; 8];
    getrandom::fill(&mut random).unwrap();
    let dir = std::env::temp_dir().join(format!("pqbank-pins-{}", hex::encode(random)));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn memory_pins_only_rise() {
    let pins = MemoryCrlPins::default();
    let issuer = Fingerprint::of(b"manager");
    assert_eq!(pins.pinned(&issuer), Ok(None));
    pins.raise(&issuer, 3).unwrap();
    pins.raise(&issuer, 2).unwrap();
    assert_eq!(pins.pinned(&issuer), Ok(Some(3)));
}

#[test]
fn file_pins_persist_rise_and_refuse_damage() {
    let dir = temp_dir();
    let (a, b) = (Fingerprint::of(b"manager"), Fingerprint::of(b"root"));
    let first = Arc::new(FileCrlPins::open(&dir).unwrap());
    assert_eq!(first.pinned(&a), Ok(None));
    first.raise(&a, 5).unwrap();
    first.raise(&a, 4).unwrap();
    // A second handle (another process) raises another issuer: neither lowers the other.
    let second = FileCrlPins::open(&dir).unwrap();
    assert_eq!(second.pinned(&a), Ok(Some(5)));
    second.raise(&b, 2).unwrap();
    first.raise(&a, 6).unwrap();
    let reopened = FileCrlPins::open(&dir).unwrap();
    assert_eq!(
        (reopened.pinned(&a), reopened.pinned(&b)),
        (Ok(Some(6)), Ok(Some(2)))
    );
    // Written by rename: no temporary file is left behind.
    let names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.contains(".tmp-")), "{names:?}");

    for damage in [
        &b"{ not json"[..],
        br#"{"version": 9, "pins": {}}"#,
        br#"{"version": 1, "pins": {"zz": 1}}"#,
    ] {
        std::fs::write(reopened.path(), damage).unwrap();
        let err = FileCrlPins::open(&dir).unwrap_err();
        assert_eq!(err.code(), "crl_pins");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_log_pin_persists_rises_per_bank_and_refuses_damage() {
    let dir = temp_dir();
    let (bank, other) = (Fingerprint::of(b"root"), Fingerprint::of(b"another root"));
    let pin = FileLogPin::open(&dir).unwrap();
    assert_eq!(pin.pinned(&bank), Ok(None));
    let at = |size, byte| LogPin {
        size,
        root: [byte; 32],
    };
    pin.raise(&bank, &at(10, 1)).unwrap();
    pin.raise(&bank, &at(9, 2)).unwrap();
    assert_eq!(
        FileLogPin::open(&dir).unwrap().pinned(&bank),
        Ok(Some(at(10, 1)))
    );
    pin.raise(&bank, &at(12, 3)).unwrap();
    assert_eq!(pin.pinned(&bank), Ok(Some(at(12, 3))));
    // Another bank's pin is no pin for this one; a workstation moved to another bank
    // starts a new pin, smaller or not.
    assert_eq!(pin.pinned(&other), Ok(None));
    pin.raise(&other, &at(2, 4)).unwrap();
    assert_eq!(
        (pin.pinned(&other), pin.pinned(&bank)),
        (Ok(Some(at(2, 4))), Ok(None))
    );
    let path = dir.join(FileLogPin::FILE_NAME);
    let root = "00".repeat(32);
    for damage in [
        "{ not json".to_owned(),
        format!(r#"{{"version": 9, "pinnedRoot": "{root}", "size": 1, "root": "{root}"}}"#),
        format!(r#"{{"version": 1, "pinnedRoot": "{root}", "size": 1, "root": "00"}}"#),
        format!(r#"{{"version": 1, "pinnedRoot": "{root}", "root": "{root}"}}"#),
        format!(r#"{{"version": 1, "size": 1, "root": "{root}"}}"#),
    ] {
        std::fs::write(&path, &damage).unwrap();
        assert_eq!(pin.pinned(&bank).unwrap_err().code(), "crl_pins");
        assert!(
            pin.raise(&bank, &at(20, 4)).is_err(),
            "a damaged pin is not overwritten"
        );
        assert_eq!(std::fs::read_to_string(&path).unwrap(), damage);
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Proves a workstation raises its log pin under the file's lock: while another process
/// holds it, the raise waits (it would otherwise write over a higher pin that process
/// is keeping), and goes on once the lock is let go.
#[test]
fn the_log_pin_is_raised_under_the_files_lock() {
    let dir = temp_dir();
    let bank = Fingerprint::of(b"root");
    let path = dir.join(FileLogPin::FILE_NAME);
    let held = lock_beside(&path).unwrap();
    let (done, finished) = std::sync::mpsc::channel();
    let raiser = {
        let dir = dir.clone();
        std::thread::spawn(move || {
            let pin = FileLogPin::open(&dir).unwrap();
            pin.raise(
                &bank,
                &LogPin {
                    size: 5,
                    root: [1; 32],
                },
            )
            .unwrap();
            done.send(()).unwrap();
        })
    };
    assert!(
        finished
            .recv_timeout(std::time::Duration::from_millis(300))
            .is_err(),
        "the raise waits for the lock"
    );
    drop(held);
    finished
        .recv_timeout(std::time::Duration::from_secs(10))
        .unwrap();
    raiser.join().unwrap();
    assert_eq!(
        FileLogPin::open(&dir).unwrap().pinned(&bank),
        Ok(Some(LogPin {
            size: 5,
            root: [1; 32]
        }))
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

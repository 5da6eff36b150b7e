//! The TypeScript bindings in `ui/src/lib/bindings.ts` are generated from the Rust
//! commands and types; this test fails when they are stale. `PQBANK_BLESS=1` rewrites
//! them.

use std::path::Path;

#[test]
fn bindings_are_generated_from_the_commands() {
    let committed = Path::new(env!("CARGO_MANIFEST_DIR")).join("../ui/src/lib/bindings.ts");
    let dir = tempfile::tempdir().unwrap();
    let fresh = dir.path().join("bindings.ts");
    pqbank_desktop::export_bindings(&fresh).unwrap();
    let fresh = std::fs::read_to_string(&fresh).unwrap();
    if std::env::var_os("PQBANK_BLESS").is_some() {
        std::fs::write(&committed, &fresh).unwrap();
        return;
    }
    let old = std::fs::read_to_string(&committed).unwrap_or_default();
    assert!(
        old == fresh,
        "ui/src/lib/bindings.ts is stale: run `PQBANK_BLESS=1 cargo test -p pqbank-desktop --test bindings`"
    );
}

#[test]
fn the_capability_allows_exactly_the_registered_commands() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let build = std::fs::read_to_string(root.join("build.rs")).unwrap();
    let lib = std::fs::read_to_string(root.join("src/lib.rs")).unwrap();
    let capability = std::fs::read_to_string(root.join("capabilities/main.json")).unwrap();
    let manifest: Vec<&str> = build
        .lines()
        .filter_map(|l| l.trim().strip_prefix('"')?.strip_suffix("\","))
        .collect();
    let registered: Vec<&str> = lib
        .split("collect_commands![")
        .nth(1)
        .and_then(|s| s.split(']').next())
        .unwrap()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    assert_eq!(
        manifest, registered,
        "build.rs and collect_commands! differ"
    );
    let json: serde_json::Value = serde_json::from_str(&capability).unwrap();
    let allowed: Vec<String> = json["permissions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap().to_owned())
        .collect();
    let expected: Vec<String> = registered
        .iter()
        .map(|c| format!("allow-{}", c.replace('_', "-")))
        .collect();
    assert_eq!(
        allowed, expected,
        "the capability must allow exactly the app's commands"
    );
    assert_eq!(json["windows"], serde_json::json!(["main"]));
}

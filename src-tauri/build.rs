//! Tauri's build step, with the app's command list: the ACL generates an `allow-…`
//! permission per command, and only the commands the capability lists are callable.

fn main() {
    tauri_build::try_build(
        tauri_build::Attributes::new()
            .app_manifest(tauri_build::AppManifest::new().commands(pqbank_commands())),
    )
    .expect("tauri build step");
}

/// Every command of the app; `src/lib.rs` registers the same list and a test checks it.
const fn pqbank_commands() -> &'static [&'static str] {
    &[
        "app_state",
        "log_path",
        "settings",
        "configure",
        "login",
        "logout",
        "find_customers",
        "post_transfer",
        "pending_transfers",
        "resolve_transfer",
        "drawer",
        "open_drawer",
        "close_drawer",
        "staff",
        "revoke",
        "renew",
        "variance_queue",
        "sign_off_variance",
        "crls",
        "enrolment_queue",
        "approve_enrolment",
        "request_enrolment",
        "enrolment_status",
        "verify_log",
        "chain",
        "inclusion_proof",
        "export_report",
        "activity",
    ]
}

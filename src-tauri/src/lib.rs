//! pqbank's desktop shell: one window and thin commands. Each command forwards to
//! `pqbank-workstation`, which makes one `pqbank-service` call; every check is there.
//! Errors reach the window as `{ code, message, layer }`.
#![forbid(unsafe_code)]

use std::sync::Arc;

use pqbank_workstation::{
    ActivityPoint, AppState, CrlView, CustomerHit, DrawerClosed, DrawerView, EnrolmentTicket,
    EnrolmentView, ErrorCode, EventView, LoginResult, Options, ProofView, ReportFile, ReportFormat,
    RevocationReason, Role, SettingsView, StaffView, TransferForm, TransferKind, TransferStatus,
    TransferView, UiError, VarianceView, VerifyView, Workstation, WorkstationErrorCode,
};
use serde::Serialize;
use tauri::State;
use tauri::ipc::Channel;

/// The workstation, opened once on first use (a first run builds the demo bank, which
/// takes a few seconds; the window shows its progress meanwhile).
#[derive(Default)]
pub struct Desk {
    ws: tokio::sync::OnceCell<Workstation>,
}

impl Desk {
    async fn ws(&self) -> Result<&Workstation, UiError> {
        self.ws.get_or_try_init(open).await
    }
}

/// Opens the workstation from the environment: the data folder (its settings name the
/// bank), `PQBANK_DATABASE_URL` (an embedded file), and the OS keyring.
async fn open() -> Result<Workstation, UiError> {
    let keys = tokio::task::spawn_blocking(|| {
        pqbank_keystore::OsKeyring::new(pqbank_workstation::KEYRING_SERVICE)
    })
    .await
    .map_err(|e| {
        UiError::logged(
            WorkstationErrorCode::Internal,
            "the keyring could not be opened",
            &e,
        )
    })??;
    let host = std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| "workstation".into());
    Workstation::open(Options {
        data_dir: pqbank_workstation::data_dir(),
        database: std::env::var("PQBANK_DATABASE_URL")
            .ok()
            .filter(|u| !u.is_empty()),
        keys: Arc::new(keys),
        origin: format!("{host} desktop"),
    })
    .await
}

/// How the workstation is set up and who is signed in.
#[tauri::command]
#[specta::specta]
async fn app_state(desk: State<'_, Desk>) -> Result<AppState, UiError> {
    desk.ws().await?.state().await
}

/// The log file being written, for the error screens ("details are in ...").
#[tauri::command]
#[specta::specta]
async fn log_path() -> Result<String, UiError> {
    Ok(
        pqbank_workstation::log_file(&pqbank_workstation::data_dir())
            .display()
            .to_string(),
    )
}

/// The settings screen: the bank in use and the pinned root.
#[tauri::command]
#[specta::specta]
async fn settings(desk: State<'_, Desk>) -> Result<SettingsView, UiError> {
    desk.ws().await?.settings_view().await
}

/// Points the workstation at another bank (a branch server or an embedded file) and
/// root, from the next start.
#[tauri::command]
#[specta::specta]
async fn configure(
    desk: State<'_, Desk>,
    bank: String,
    pinned_root: String,
) -> Result<String, UiError> {
    desk.ws().await?.configure(bank, pinned_root).await
}

/// Signs in with a certificate whose device key this machine holds.
#[tauri::command]
#[specta::specta]
async fn login(desk: State<'_, Desk>, certificate: String) -> Result<LoginResult, UiError> {
    desk.ws().await?.login(certificate).await
}

/// Signs out.
#[tauri::command]
#[specta::specta]
async fn logout(desk: State<'_, Desk>) -> Result<(), UiError> {
    desk.ws().await?.logout().await;
    Ok(())
}

/// Customers by name or number.
#[tauri::command]
#[specta::specta]
async fn find_customers(desk: State<'_, Desk>, query: String) -> Result<Vec<CustomerHit>, UiError> {
    desk.ws().await?.find_customers(query).await
}

/// Posts a deposit, withdrawal or transfer.
#[tauri::command]
#[specta::specta]
async fn post_transfer(desk: State<'_, Desk>, form: TransferForm) -> Result<TransferView, UiError> {
    desk.ws().await?.post_transfer(form).await
}

/// Transfers waiting for a manager.
#[tauri::command]
#[specta::specta]
async fn pending_transfers(desk: State<'_, Desk>) -> Result<Vec<TransferView>, UiError> {
    desk.ws().await?.pending_transfers().await
}

/// A manager approves or rejects the pending transfer they reviewed (its request hash).
#[tauri::command]
#[specta::specta]
async fn resolve_transfer(
    desk: State<'_, Desk>,
    id: i64,
    request_hash: String,
    approve: bool,
) -> Result<TransferStatus, UiError> {
    desk.ws()
        .await?
        .resolve_transfer(id, request_hash, approve)
        .await
}

/// The teller's drawer.
#[tauri::command]
#[specta::specta]
async fn drawer(desk: State<'_, Desk>) -> Result<DrawerView, UiError> {
    desk.ws().await?.drawer().await
}

/// Opens the drawer with a counted float.
#[tauri::command]
#[specta::specta]
async fn open_drawer(
    desk: State<'_, Desk>,
    counted_minor: i64,
    key: String,
) -> Result<DrawerView, UiError> {
    desk.ws().await?.open_drawer(counted_minor, key).await
}

/// Closes the drawer with the counted cash.
#[tauri::command]
#[specta::specta]
async fn close_drawer(
    desk: State<'_, Desk>,
    counted_minor: i64,
    key: String,
) -> Result<DrawerClosed, UiError> {
    desk.ws().await?.close_drawer(counted_minor, key).await
}

/// Staff and their certificates.
#[tauri::command]
#[specta::specta]
async fn staff(desk: State<'_, Desk>) -> Result<Vec<StaffView>, UiError> {
    desk.ws().await?.staff().await
}

/// Revokes a certificate with a reason; returns the new CRL number.
#[tauri::command]
#[specta::specta]
async fn revoke(
    desk: State<'_, Desk>,
    certificate: String,
    reason: RevocationReason,
) -> Result<u64, UiError> {
    desk.ws().await?.revoke(certificate, reason).await
}

/// Renews a certificate; returns the new fingerprint.
#[tauri::command]
#[specta::specta]
async fn renew(desk: State<'_, Desk>, certificate: String) -> Result<String, UiError> {
    desk.ws().await?.renew(certificate).await
}

/// Drawer variances waiting for a manager's sign-off.
#[tauri::command]
#[specta::specta]
async fn variance_queue(desk: State<'_, Desk>) -> Result<Vec<VarianceView>, UiError> {
    desk.ws().await?.variance_queue().await
}

/// Signs off a drawer variance.
#[tauri::command]
#[specta::specta]
async fn sign_off_variance(desk: State<'_, Desk>, event: i64) -> Result<(), UiError> {
    desk.ws().await?.sign_off_variance(event).await
}

/// The newest CRL of every issuer.
#[tauri::command]
#[specta::specta]
async fn crls(desk: State<'_, Desk>) -> Result<Vec<CrlView>, UiError> {
    desk.ws().await?.crls().await
}

/// Enrolment requests waiting for a manager.
#[tauri::command]
#[specta::specta]
async fn enrolment_queue(desk: State<'_, Desk>) -> Result<Vec<EnrolmentView>, UiError> {
    desk.ws().await?.enrolment_queue().await
}

/// Approves an enrolment request with the code typed from the device.
#[tauri::command]
#[specta::specta]
async fn approve_enrolment(
    desk: State<'_, Desk>,
    id: i64,
    code: String,
) -> Result<String, UiError> {
    desk.ws().await?.approve_enrolment(id, code).await
}

/// Enrols this machine for a member of staff.
#[tauri::command]
#[specta::specta]
async fn request_enrolment(
    desk: State<'_, Desk>,
    staff_number: String,
    role: Role,
) -> Result<EnrolmentTicket, UiError> {
    desk.ws().await?.request_enrolment(staff_number, role).await
}

/// Where this machine's enrolment request stands.
#[tauri::command]
#[specta::specta]
async fn enrolment_status(desk: State<'_, Desk>, id: i64) -> Result<EnrolmentTicket, UiError> {
    desk.ws().await?.enrolment_status(id).await
}

/// Verification progress.
#[derive(Debug, Clone, Copy, Serialize, specta::Type)]
pub struct Progress {
    /// Done so far.
    pub done: u32,
    /// Of.
    pub total: u32,
}

/// Verifies the whole log, reporting progress on the channel.
#[tauri::command]
#[specta::specta]
async fn verify_log(
    desk: State<'_, Desk>,
    progress: Channel<Progress>,
) -> Result<VerifyView, UiError> {
    let report = move |done: usize, total: usize| {
        // Every percent or so: the window needs no more.
        let step = (total / 100).max(1);
        if done.is_multiple_of(step) || done == total {
            // A closed window is no reason to stop verifying.
            let _ignored = progress.send(Progress {
                done: u32::try_from(done).unwrap_or(u32::MAX),
                total: u32::try_from(total).unwrap_or(u32::MAX),
            });
        }
    };
    desk.ws().await?.verify_log(&report).await
}

/// A certificate's accountability chain.
#[tauri::command]
#[specta::specta]
async fn chain(desk: State<'_, Desk>, certificate: String) -> Result<Vec<EventView>, UiError> {
    desk.ws().await?.chain(certificate).await
}

/// The inclusion proof of an event, verified here.
#[tauri::command]
#[specta::specta]
async fn inclusion_proof(
    desk: State<'_, Desk>,
    event_id: i64,
    event_hash: String,
) -> Result<ProofView, UiError> {
    desk.ws().await?.inclusion_proof(event_id, event_hash).await
}

/// Writes the signed accountability report of a certificate (json or pdf).
#[tauri::command]
#[specta::specta]
async fn export_report(
    desk: State<'_, Desk>,
    certificate: String,
    format: ReportFormat,
) -> Result<ReportFile, UiError> {
    desk.ws().await?.export_report(certificate, format).await
}

/// Events per day and role.
#[tauri::command]
#[specta::specta]
async fn activity(desk: State<'_, Desk>) -> Result<Vec<ActivityPoint>, UiError> {
    desk.ws().await?.activity().await
}

/// The command list and its TypeScript bindings.
#[must_use]
pub fn specta() -> tauri_specta::Builder<tauri::Wry> {
    tauri_specta::Builder::<tauri::Wry>::new()
        .commands(tauri_specta::collect_commands![
            app_state,
            log_path,
            settings,
            configure,
            login,
            logout,
            find_customers,
            post_transfer,
            pending_transfers,
            resolve_transfer,
            drawer,
            open_drawer,
            close_drawer,
            staff,
            revoke,
            renew,
            variance_queue,
            sign_off_variance,
            crls,
            enrolment_queue,
            approve_enrolment,
            request_enrolment,
            enrolment_status,
            verify_log,
            chain,
            inclusion_proof,
            export_report,
            activity,
        ])
        // The values the window lists, from the Rust that decides them: every error code
        // (each needs a message) and the kinds a teller posts.
        .constant("ERROR_CODES", ErrorCode::all().collect::<Vec<_>>())
        .constant(
            "TELLER_KINDS",
            TransferKind::ALL
                .iter()
                .filter(|k| k.is_customer_facing())
                .collect::<Vec<_>>(),
        )
        // Ids and minor amounts stay far below 2^53 in a bank's lifetime; the UI's money
        // code checks `Number.isSafeInteger` before it formats or sends one.
        .dangerously_cast_bigints_to_number()
        // One type per DTO: the window reads what Rust serialises.
        .disable_serde_phases()
}

/// Writes the TypeScript bindings to `path`.
pub fn export_bindings(path: &std::path::Path) -> Result<(), String> {
    specta()
        .export(
            specta_typescript::Typescript::default()
                .header("// Generated from the Rust commands by `src-tauri` (tests/bindings.rs). Do not edit.\n"),
            path,
        )
        .map_err(|e| e.to_string())
}

/// Runs the app, its log in the data folder.
pub fn run() {
    let data_dir = pqbank_workstation::data_dir();
    match pqbank_workstation::logs::install(&data_dir, false) {
        Ok(file) => tracing::info!(
            version = env!("CARGO_PKG_VERSION"),
            log = %file.display(),
            "pqbank desktop starting"
        ),
        Err(e) => eprintln!("pqbank: no log file: {}", e.message),
    }
    let specta = specta();
    let result = tauri::Builder::default()
        .manage(Desk::default())
        .invoke_handler(specta.invoke_handler())
        .setup(move |app| {
            specta.mount_events(app);
            Ok(())
        })
        .run(tauri::generate_context!());
    if let Err(e) = result {
        tracing::error!(detail = %e, "the window could not start");
        eprintln!("pqbank: the window could not start: {e}");
        std::process::exit(1);
    }
}

//! Posts transfers in a loop until it is killed: the crash test's victim.
//! `crash_writer sqlite PATH MAKER ACCOUNT...` or `crash_writer mysql URL MAKER ACCOUNT...`.
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "a test helper: any failure ends the test"
)]

use pqbank_db::flows::post_transfer;
use pqbank_db::{Backend, RetryPolicy, SignedBy, SignedTransfer};
use pqbank_ledger::{Amount, Currency, Policy, TransferKind, TransferRequest};

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let maker: i64 = args[3].parse().unwrap();
    let accounts: Vec<i64> = args[4..].iter().map(|a| a.parse().unwrap()).collect();
    match args[1].as_str() {
        "sqlite" => {
            write_forever(
                pqbank_db_sqlite::SqliteStore::open(args[2].as_ref())
                    .await
                    .unwrap(),
                maker,
                &accounts,
            )
            .await
        }
        "mysql" => {
            write_forever(
                pqbank_db_mysql::MySqlStore::connect(&args[2])
                    .await
                    .unwrap(),
                maker,
                &accounts,
            )
            .await
        }
        other => panic!("unknown backend {other}"),
    }
}

async fn write_forever<B: Backend>(db: B, maker: i64, accounts: &[i64]) {
    let mut n: u64 = 0;
    println!("writing");
    loop {
        let a = accounts[(n % accounts.len() as u64) as usize];
        let b = accounts[((n / 3 + 1) % accounts.len() as u64) as usize];
        if a != b {
            let transfer = SignedTransfer {
                request: TransferRequest {
                    maker,
                    idempotency_key: format!("crash-{n}"),
                    kind: TransferKind::Transfer,
                    debit: a,
                    credit: b,
                    amount: Amount::from_minor(1 + (n % 97) as i64, Currency::EUR).unwrap(),
                    memo: String::new(),
                    created_at: 0,
                },
                signed: SignedBy {
                    signature: vec![1; 3373],
                    signer: [2; 32],
                },
            };
            post_transfer(
                &db,
                &RetryPolicy::default(),
                &transfer,
                &Policy::default(),
                0,
            )
            .await
            .unwrap();
        }
        n += 1;
    }
}

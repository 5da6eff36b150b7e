//! pqbank's desktop app.
#![forbid(unsafe_code)]

fn main() {
    pqbank_desktop::run();
}

//! Replays every fuzz target's committed corpus (seeds and anything the fuzzer kept) as
//! an ordinary test, so a regression on a once-found input fails CI without nightly.

#[path = "../../fuzz/targets.rs"]
mod targets;

use std::path::PathBuf;

/// Proves each target has a corpus and runs every input without a panic.
#[test]
fn replay_fuzz_corpora() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus");
    let mut total = 0;
    for (name, target) in targets::TARGETS {
        let dir = root.join(name);
        let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        let mut count = 0;
        for entry in entries.flatten() {
            let data = std::fs::read(entry.path()).unwrap_or_else(|e| panic!("{e}"));
            target(&data);
            count += 1;
        }
        assert!(count > 0, "corpus of {name} is empty");
        println!("fuzz corpus {name}: {count} inputs replayed");
        total += count;
    }
    println!("fuzz corpora: {total} inputs replayed");
}

//! The repository stands alone: no tracked file reads or names the workspace folder that
//! sits beside a developer's clone. A user clones only this repository, so a test, script
//! or document that reaches outside it would fail or mislead them.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Spellings of a path out of the clone into its neighbour folder (built here so that this
/// file does not name them itself).
fn outside_paths() -> Vec<String> {
    let neighbour = ["sha", "red"].concat();
    vec![
        format!("../{neighbour}"),
        format!("..\\{neighbour}"),
        format!("/work/{neighbour}"),
    ]
}

/// The repository's root (this crate lives in `tests/`).
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// Every tracked file, as git lists it.
fn tracked_files(root: &Path) -> Vec<PathBuf> {
    let out = Command::new("git")
        .arg("-C")
        .arg(root)
        .args(["ls-files", "-z"])
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git ls-files: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
        .split(|b| *b == 0)
        .filter(|name| !name.is_empty())
        .map(|name| root.join(String::from_utf8_lossy(name).as_ref()))
        .collect()
}

/// Proves no tracked file names a path outside the clone: each file's bytes are searched
/// for every spelling, and the offending files and lines are listed.
#[test]
fn no_tracked_file_reaches_outside_the_clone() {
    let root = root();
    let files = tracked_files(&root);
    assert!(
        files.len() > 100,
        "git listed {} files: not this repository",
        files.len()
    );
    let needles = outside_paths();
    let mut offenders = Vec::new();
    for file in &files {
        let Ok(bytes) = std::fs::read(file) else {
            continue;
        };
        let text = String::from_utf8_lossy(&bytes);
        for (number, line) in text.lines().enumerate() {
            if needles.iter().any(|n| line.contains(n.as_str())) {
                let name = file.strip_prefix(&root).unwrap_or(file).display();
                offenders.push(format!("{name}:{}: {}", number + 1, line.trim()));
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "paths outside the clone:\n{}",
        offenders.join("\n")
    );
}

/// Proves the search above finds what it looks for: a line naming the neighbour folder
/// matches one of the spellings, and an ordinary relative path does not.
#[test]
fn the_search_matches_the_neighbour_folder() {
    let needles = outside_paths();
    let hit = format!("see {}/DESIGN.md", needles[0]);
    assert!(needles.iter().any(|n| hit.contains(n.as_str())));
    assert!(
        !needles
            .iter()
            .any(|n| "../pki/tests/vectors".contains(n.as_str()))
    );
}

//! The accountability report as a PDF (ISO 32000-1, a plain PDF 1.4 file with the
//! standard Courier font): the report's facts as text, and the SHA-256 of the exact
//! signed JSON with the auditor's certificate, so the paper copy points at the signed one.

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::SignedReport;

/// Lines per A4 page at 8 pt with 10 pt leading.
const LINES_PER_PAGE: usize = 75;
/// Characters per line before wrapping (Courier 8 pt is 4.8 pt wide: 515 pt of text).
const LINE_LEN_MAX: usize = 106;

/// Renders the signed report as a PDF.
#[must_use]
pub fn report_pdf(signed: &SignedReport) -> Vec<u8> {
    let report: Value = serde_json::from_slice(&signed.json).unwrap_or(Value::Null);
    let lines = report_lines(&report, signed);
    let pages: Vec<&[String]> = lines.chunks(LINES_PER_PAGE).collect();
    write_pdf(&pages)
}

fn report_lines(report: &Value, signed: &SignedReport) -> Vec<String> {
    let cert = &report["certificate"];
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        Value::Null => "-".into(),
        other => other.to_string(),
    };
    let mut lines = vec![
        "pqbank accountability report".to_owned(),
        format!("generated {}", text(&report["generatedAt"])),
        String::new(),
        format!("certificate  {}", text(&cert["fingerprint"])),
        format!("subject      {}", text(&cert["subject"])),
        format!("issuer       {}", text(&cert["issuer"])),
        format!(
            "role         {}   staff {}   defence version {}",
            text(&cert["role"]),
            text(&cert["staffId"]),
            text(&cert["defenceVersion"])
        ),
        format!(
            "valid        {} to {}",
            text(&cert["notBefore"]),
            text(&cert["notAfter"])
        ),
        format!("actions      {}", text(&cert["allowedActions"])),
        format!("lineage      issuer {}", text(&cert["lineage"]["issuer"])),
        format!(
            "first intent {} from {}",
            text(&report["firstIntent"]["time"]),
            text(&report["firstIntent"]["origin"])
        ),
        format!("chain head   {}", text(&report["chainHead"])),
        String::new(),
        "signed event chain (seq, time, kind, hash)".to_owned(),
    ];
    for e in report["chain"].as_array().into_iter().flatten() {
        lines.push(format!(
            "  {:>4}  {}  {:<16} {}",
            text(&e["seq"]),
            text(&e["time"]),
            text(&e["kind"]),
            text(&e["hash"])
        ));
    }
    lines.push(String::new());
    lines.push("acts (transfer, time, kind, amount, status)".to_owned());
    for a in report["acts"].as_array().into_iter().flatten() {
        lines.push(format!(
            "  #{:<6} {}  {:<10} {:>16}  {}",
            text(&a["transfer"]),
            text(&a["time"]),
            text(&a["kind"]),
            text(&a["amount"]),
            text(&a["status"])
        ));
    }
    lines.push(String::new());
    lines.push(format!(
        "SHA-256 of the signed JSON: {}",
        hex::encode(Sha256::digest(&signed.json))
    ));
    lines.push(format!(
        "signed by the auditor's certificate {}",
        signed.signer
    ));
    lines.push("This paper copy is a rendering; the signed JSON is the record.".to_owned());
    lines.iter().flat_map(|l| wrap(l)).collect()
}

fn wrap(line: &str) -> Vec<String> {
    let ascii: String = line
        .chars()
        .map(|c| {
            if c.is_ascii() && !c.is_ascii_control() {
                c
            } else {
                '?'
            }
        })
        .collect();
    if ascii.is_empty() {
        return vec![String::new()];
    }
    ascii
        .as_bytes()
        .chunks(LINE_LEN_MAX)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect()
}

/// A PDF string literal: backslash, parentheses escaped.
fn literal(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('(');
    for c in text.chars() {
        if matches!(c, '(' | ')' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push(')');
    out
}

fn write_pdf(pages: &[&[String]]) -> Vec<u8> {
    let mut objects: Vec<String> = Vec::new();
    let page_count = pages.len().max(1);
    // 1 catalog, 2 pages, 3 font, then a page and a content stream per page.
    objects.push("<< /Type /Catalog /Pages 2 0 R >>".into());
    let kids: Vec<String> = (0..page_count)
        .map(|i| format!("{} 0 R", 4 + 2 * i))
        .collect();
    objects.push(format!(
        "<< /Type /Pages /Kids [{}] /Count {page_count} >>",
        kids.join(" ")
    ));
    objects.push(
        "<< /Type /Font /Subtype /Type1 /BaseFont /Courier /Encoding /WinAnsiEncoding >>".into(),
    );
    let empty: &[String] = &[];
    for (i, lines) in pages
        .iter()
        .copied()
        .chain((pages.is_empty()).then_some(empty))
        .enumerate()
    {
        let mut content = String::from("BT /F1 8 Tf 10 TL 40 800 Td\n");
        for line in lines {
            content.push_str(&literal(line));
            content.push_str(" Tj T*\n");
        }
        content.push_str(&format!(
            "ET\nBT /F1 7 Tf 40 30 Td (page {} of {page_count}) Tj ET\n",
            i + 1
        ));
        objects.push(format!(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 3 0 R >> >> /Contents {} 0 R >>",
            5 + 2 * i
        ));
        objects.push(format!(
            "<< /Length {} >>\nstream\n{content}endstream",
            content.len()
        ));
    }
    let mut out = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut offsets = Vec::with_capacity(objects.len());
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{body}\nendobj\n", i + 1).as_bytes());
    }
    let xref = out.len();
    out.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for offset in offsets {
        out.extend_from_slice(format!("{offset:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    out
}

//! Feedback records as JSON lines or CSV (the columns are `records::CSV_COLUMNS`).

use crate::records::{Cell, FeedbackRecord, CSV_COLUMNS};

/// Spreadsheets run cells that start with = + - @ as formulas: a shopper's comment must not.
/// Control characters go first (a terminal showing the file must not obey a shopper's escape
/// sequences, and one must not hide a formula sign behind it).
fn defuse(s: &str) -> String {
    let s = strip_controls(s);
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s
    }
}

/// Removes control characters: C0 except tab and newline, DEL, C1, and whole escape sequences
/// (`ESC [ … final`, `ESC ] … BEL` or `ESC \\`, `ESC` + intermediates + one character, and their C1 forms CSI
/// U+009B and OSC U+009D), so that no colour code, cursor move or terminal title survives.
pub fn strip_controls(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\t' | '\n' => out.push(c),
            '\u{1b}' => match chars.peek() {
                Some('[') => {
                    chars.next();
                    skip_csi(&mut chars);
                }
                Some(']') => {
                    chars.next();
                    skip_osc(&mut chars);
                }
                Some(&n) if ('\u{20}'..='\u{7e}').contains(&n) => {
                    // intermediates (ESC ( B), then the final character
                    while chars.next_if(|c| ('\u{20}'..='\u{2f}').contains(c)).is_some() {}
                    chars.next_if(|c| ('\u{30}'..='\u{7e}').contains(c));
                }
                _ => {}
            },
            '\u{9b}' => skip_csi(&mut chars),
            '\u{9d}' => skip_osc(&mut chars),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// Parameters and intermediates up to the final byte (0x40..=0x7E); stops at anything else.
fn skip_csi(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    while let Some(&c) = chars.peek() {
        match c {
            '\u{20}'..='\u{3f}' => {
                chars.next();
            }
            '\u{40}'..='\u{7e}' => {
                chars.next();
                return;
            }
            _ => return,
        }
    }
}

/// Up to BEL, ST (U+009C) or `ESC \\`, all removed.
fn skip_osc(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    while let Some(c) = chars.next() {
        match c {
            '\u{7}' | '\u{9c}' => return,
            '\u{1b}' => {
                if chars.peek() == Some(&'\\') {
                    chars.next();
                }
                return;
            }
            _ => {}
        }
    }
}

pub fn render(records: &[FeedbackRecord], csv: bool) -> Result<String, csv::Error> {
    if !csv {
        // through a JSON value: its keys come out sorted, as they always have
        return Ok(records
            .iter()
            .map(|r| format!("{}\n", serde_json::to_value(r).expect("feedback records serialise")))
            .collect());
    }
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(CSV_COLUMNS)?;
    for r in records {
        let row: Vec<String> = r
            .csv_cells()
            .into_iter()
            .map(|c| match c {
                Cell::Text(s) => defuse(&s),
                Cell::Plain(s) => strip_controls(&s),
            })
            .collect();
        w.write_record(&row)?;
    }
    let bytes = w.into_inner().map_err(|e| e.into_error())?;
    Ok(String::from_utf8(bytes).expect("CSV of UTF-8 strings"))
}

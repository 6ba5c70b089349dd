//! Feedback records as JSON lines or CSV.

/// Columns of the CSV export, in order (lists are joined with `|`).
pub const CSV_COLUMNS: [&str; 19] = [
    "conversation_id",
    "shopper_id",
    "lang",
    "started_at",
    "ended_at",
    "shopper_messages",
    "bot_messages",
    "agent_messages",
    "intents_seen",
    "faq_ids",
    "flows",
    "orders_discussed",
    "returns_created",
    "resolution",
    "escalation_reason",
    "agent_id",
    "rating",
    "comment",
    "complaint",
];

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

pub fn render(records: &[serde_json::Value], csv: bool) -> Result<String, csv::Error> {
    if !csv {
        return Ok(records.iter().map(|r| format!("{r}\n")).collect());
    }
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(CSV_COLUMNS)?;
    for r in records {
        let row: Vec<String> = CSV_COLUMNS
            .iter()
            .map(|c| match r.get(*c) {
                None | Some(serde_json::Value::Null) => String::new(),
                Some(serde_json::Value::String(s)) => defuse(s),
                Some(serde_json::Value::Array(a)) => defuse(
                    &a.iter()
                        .map(|v| v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string()))
                        .collect::<Vec<_>>()
                        .join("|"),
                ),
                Some(v) => strip_controls(&v.to_string()),
            })
            .collect();
        w.write_record(&row)?;
    }
    let bytes = w.into_inner().map_err(|e| e.into_error())?;
    Ok(String::from_utf8(bytes).expect("CSV of UTF-8 strings"))
}

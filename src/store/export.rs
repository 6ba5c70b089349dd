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
fn defuse(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_string()
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
                Some(serde_json::Value::Array(a)) => a
                    .iter()
                    .map(|v| v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string()))
                    .collect::<Vec<_>>()
                    .join("|"),
                Some(v) => v.to_string(),
            })
            .collect();
        w.write_record(&row)?;
    }
    let bytes = w.into_inner().map_err(|e| e.into_error())?;
    Ok(String::from_utf8(bytes).expect("CSV of UTF-8 strings"))
}

//! A small in-memory tantivy index of keyed documents with weighted bilingual text fields,
//! shared by the FAQ and product indexes. Queries are bags of analyzed terms (no query syntax,
//! so shoppers' punctuation can never be a syntax error), scored by BM25 with per-field boosts.

use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, BoostQuery, Occur, Query, TermQuery};
use tantivy::schema::{
    Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions, Value, STORED, STRING,
};
use tantivy::{Index, IndexReader, ReloadPolicy, TantivyDocument, Term};

use super::analyzer::{self, tokens};
use super::SearchError;

/// Longest query accepted, in characters. Longer input is refused with a clear error.
pub const MAX_QUERY_CHARS: usize = 1000;
/// At most this many distinct terms per field go into one query.
const MAX_TERMS: usize = 64;

/// A text field: its name, the analyzer that splits it and its weight in scoring.
#[derive(Debug, Clone, Copy)]
pub struct FieldSpec {
    pub name: &'static str,
    pub analyzer: &'static str,
    pub weight: f32,
}

pub struct TextIndex {
    reader: IndexReader,
    index: Index,
    key: Field,
    fields: Vec<(Field, FieldSpec)>,
}

/// A document to index: its key and the text of each field, in `FieldSpec` order.
pub struct Doc {
    pub key: String,
    pub texts: Vec<String>,
}

impl TextIndex {
    pub fn build(specs: &[FieldSpec], docs: impl IntoIterator<Item = Doc>) -> Result<TextIndex, SearchError> {
        let mut sb = Schema::builder();
        let key = sb.add_text_field("key", STRING | STORED);
        let fields: Vec<(Field, FieldSpec)> = specs
            .iter()
            .map(|s| {
                let opts = TextOptions::default().set_indexing_options(
                    TextFieldIndexing::default()
                        .set_tokenizer(s.analyzer)
                        .set_index_option(IndexRecordOption::WithFreqs),
                );
                (sb.add_text_field(s.name, opts), *s)
            })
            .collect();
        let index = Index::create_in_ram(sb.build());
        analyzer::register(&index);
        let mut writer = index.writer_with_num_threads::<TantivyDocument>(1, 15_000_000)?;
        for d in docs {
            let mut doc = TantivyDocument::default();
            doc.add_text(key, &d.key);
            for ((field, _), text) in fields.iter().zip(&d.texts) {
                doc.add_text(*field, text);
            }
            writer.add_document(doc)?;
        }
        writer.commit()?;
        let reader = index.reader_builder().reload_policy(ReloadPolicy::Manual).try_into()?;
        Ok(TextIndex { reader, index, key, fields })
    }

    /// Checks a shopper's query: not empty, not too long.
    pub fn check_query(text: &str) -> Result<(), SearchError> {
        let chars = text.chars().count();
        if chars > MAX_QUERY_CHARS {
            return Err(SearchError::QueryTooLong { chars, max: MAX_QUERY_CHARS });
        }
        if text.chars().all(|c| c.is_whitespace() || c.is_control()) {
            return Err(SearchError::EmptyQuery);
        }
        Ok(())
    }

    /// The query's terms per field, as the field's analyzer produces them (deduplicated).
    pub fn query_terms(&self, text: &str) -> Vec<Vec<String>> {
        self.fields
            .iter()
            .map(|(_, spec)| {
                let mut a = self.index.tokenizers().get(spec.analyzer).expect("analyzer registered");
                let mut t = tokens(&mut a, text);
                let mut seen = std::collections::HashSet::new();
                t.retain(|x| seen.insert(x.clone()));
                t.truncate(MAX_TERMS);
                t
            })
            .collect()
    }

    /// The best `limit` documents for `text` as (key, score), best first. A query with no
    /// searchable term (emoji only, punctuation only) returns no hit.
    pub fn search(&self, text: &str, limit: usize) -> Result<Vec<(String, f32)>, SearchError> {
        Self::check_query(text)?;
        let terms = self.query_terms(text);
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for ((field, spec), words) in self.fields.iter().zip(&terms) {
            for w in words {
                let tq = TermQuery::new(Term::from_field_text(*field, w), IndexRecordOption::WithFreqs);
                clauses.push((Occur::Should, Box::new(BoostQuery::new(Box::new(tq), spec.weight))));
            }
        }
        if clauses.is_empty() {
            return Ok(Vec::new());
        }
        let query = BooleanQuery::new(clauses);
        let searcher = self.reader.searcher();
        let top = searcher.search(&query, &TopDocs::with_limit(limit).order_by_score())?;
        let mut out = Vec::with_capacity(top.len());
        for (score, addr) in top {
            let doc: TantivyDocument = searcher.doc(addr)?;
            let key = doc.get_first(self.key).and_then(|v| v.as_str()).unwrap_or_default().to_string();
            out.push((key, score));
        }
        Ok(out)
    }
}

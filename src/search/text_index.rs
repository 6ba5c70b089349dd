//! A small in-memory tantivy index of keyed documents with weighted bilingual text fields,
//! shared by the FAQ and product indexes. Queries are bags of analyzed terms (no query syntax,
//! so shoppers' punctuation can never be a syntax error), scored by BM25 with per-field boosts.

use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, BoostQuery, Occur, Query, TermQuery};
use tantivy::schema::{
    Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions, Value, STORED, STRING,
};
use tantivy::tokenizer::TextAnalyzer;
use tantivy::{DocAddress, Index, IndexReader, ReloadPolicy, TantivyDocument, Term};

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
    /// The distinct analyzers of the fields, each run once per query.
    analyzers: Vec<(&'static str, TextAnalyzer)>,
    /// Per field: the field, its spec and its analyzer's place in `analyzers`.
    fields: Vec<(Field, FieldSpec, usize)>,
    /// The documents' keys by segment and document id (read from the store once, at build:
    /// the index never changes after it, so a hit's key is a lookup, not a document read).
    keys: Vec<Vec<String>>,
}

/// A query's terms, analyzed once per analyzer (see [`TextIndex::analyze`]).
pub struct QueryTerms {
    /// Per distinct analyzer, in the index's order: its terms, deduplicated, at most
    /// [`MAX_TERMS`].
    by_analyzer: Vec<Vec<String>>,
    /// Per field: its analyzer's place in `by_analyzer`.
    fields: Vec<usize>,
}

impl QueryTerms {
    /// The terms of the `i`th field (in `FieldSpec` order).
    pub fn field(&self, i: usize) -> &[String] {
        &self.by_analyzer[self.fields[i]]
    }
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
        let reader: IndexReader = index.reader_builder().reload_policy(ReloadPolicy::Manual).try_into()?;
        let searcher = reader.searcher();
        let mut keys = Vec::with_capacity(searcher.segment_readers().len());
        for (ord, segment) in searcher.segment_readers().iter().enumerate() {
            let mut seg = Vec::with_capacity(segment.max_doc() as usize);
            for doc_id in 0..segment.max_doc() {
                let doc: TantivyDocument = searcher.doc(DocAddress::new(ord as u32, doc_id))?;
                seg.push(doc.get_first(key).and_then(|v| v.as_str()).unwrap_or_default().to_string());
            }
            keys.push(seg);
        }
        let mut analyzers: Vec<(&'static str, TextAnalyzer)> = Vec::new();
        let fields = fields
            .into_iter()
            .map(|(field, spec)| {
                let slot = match analyzers.iter().position(|(name, _)| *name == spec.analyzer) {
                    Some(slot) => slot,
                    None => {
                        let a = index.tokenizers().get(spec.analyzer).expect("analyzer registered");
                        analyzers.push((spec.analyzer, a));
                        analyzers.len() - 1
                    }
                };
                (field, spec, slot)
            })
            .collect();
        Ok(TextIndex { reader, analyzers, fields, keys })
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

    /// The query's terms per field, as the field's analyzer produces them (deduplicated, in
    /// order of first appearance). Fields that share an analyzer share one run of it.
    pub fn analyze(&self, text: &str) -> QueryTerms {
        let by_analyzer = self
            .analyzers
            .iter()
            .map(|(_, a)| {
                let mut t = tokens(&mut a.clone(), text);
                let mut seen = std::collections::HashSet::with_capacity(t.len());
                t.retain(|x| seen.insert(x.clone()));
                t.truncate(MAX_TERMS);
                t
            })
            .collect();
        QueryTerms { by_analyzer, fields: self.fields.iter().map(|(_, _, slot)| *slot).collect() }
    }

    /// The best `limit` documents for `text` as (key, score), best first. A query with no
    /// searchable term (emoji only, punctuation only) returns no hit.
    pub fn search(&self, text: &str, limit: usize) -> Result<Vec<(String, f32)>, SearchError> {
        Self::check_query(text)?;
        self.search_terms(&self.analyze(text), limit)
    }

    /// [`TextIndex::search`] for a query already analyzed (and checked).
    pub fn search_terms(&self, terms: &QueryTerms, limit: usize) -> Result<Vec<(String, f32)>, SearchError> {
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for (i, (field, spec, _)) in self.fields.iter().enumerate() {
            for w in terms.field(i) {
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
        Ok(top
            .into_iter()
            .map(|(score, addr)| (self.keys[addr.segment_ord as usize][addr.doc_id as usize].clone(), score))
            .collect())
    }
}

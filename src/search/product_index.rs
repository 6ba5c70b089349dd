//! The product index: names, tags, colours, materials and descriptions in both languages.
//! [`ProductIndex::search`] is the shoppers' (BM25 over weighted fields, with single characters
//! for typos); [`ProductIndex::lookup`] is the staff's product lookup, which ranks where the words
//! were found: name or sku, then tags or category, then anything else, and leaves out products
//! that share only some characters with the query when others match it whole.

use std::collections::HashMap;

use serde::Serialize;

use super::analyzer::{tokens, words_analyzer, CHARS, WORDS};
use super::text_index::{Doc, FieldSpec, TextIndex};
use super::SearchError;
use crate::knowledge::Product;

const FIELDS: [FieldSpec; 5] = [
    FieldSpec { name: "name", analyzer: WORDS, weight: 3.0 },
    FieldSpec { name: "name_chars", analyzer: CHARS, weight: 1.0 },
    FieldSpec { name: "tags", analyzer: WORDS, weight: 2.0 },
    FieldSpec { name: "attributes", analyzer: WORDS, weight: 1.0 },
    FieldSpec { name: "description", analyzer: WORDS, weight: 0.5 },
];

/// One scored product.
#[derive(Debug, Clone, Serialize)]
pub struct ProductHit {
    pub sku: String,
    pub score: f32,
}

/// Where a staff lookup's words were all found in a product, best first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Found {
    /// In its name (either language) or sku.
    Name,
    /// In its name, tags or category.
    Tags,
    /// Anywhere: colours, material, description as well.
    Anywhere,
    /// Only some of them (the shoppers' search found it by shared words or characters).
    Partly,
}

/// A product's texts by rank, normalised, and their word tokens.
struct Texts {
    name: String,
    tags: String,
    other: String,
    tokens: [Vec<String>; 3],
}

impl Texts {
    /// Where every one of `words` is (a word counts when it is one of the field's words or
    /// appears in its text, so a jieba cut that differs still matches).
    fn found(&self, words: &[String]) -> Found {
        let has = |upto: usize, w: &String| {
            let texts = [&self.name, &self.tags, &self.other];
            (0..=upto).any(|i| texts[i].contains(w.as_str()) || self.tokens[i].contains(w))
        };
        if words.iter().all(|w| w.is_empty()) {
            return Found::Partly;
        }
        [Found::Name, Found::Tags, Found::Anywhere]
            .into_iter()
            .enumerate()
            .find(|(i, _)| words.iter().all(|w| has(*i, w)))
            .map_or(Found::Partly, |(_, f)| f)
    }
}

/// A category's names as shoppers and staff say them.
fn category_words(category: &str) -> &'static str {
    match category {
        "women" => "女装 女士 women",
        "men" => "男装 男士 men",
        "kids" => "童装 儿童 kids",
        "shoes" => "鞋 鞋子 shoes",
        "bags-accessories" => "包 箱包 配饰 bags accessories",
        _ => "",
    }
}

pub struct ProductIndex {
    index: TextIndex,
    /// sku → its texts, in catalog order (for [`ProductIndex::lookup`]).
    texts: Vec<(String, Texts)>,
}

impl ProductIndex {
    pub fn build(products: &[Product]) -> Result<ProductIndex, SearchError> {
        let mut analyzer = words_analyzer();
        let texts = products
            .iter()
            .map(|p| {
                let colors: Vec<String> = p.colors.iter().map(|c| format!("{} {}", c.zh, c.en)).collect();
                let name = crate::lang::normalize(&format!("{} {} {}", p.name.zh, p.name.en, p.sku));
                let tags = crate::lang::normalize(&format!(
                    "{} {} {}",
                    p.tags.join(" "),
                    p.category,
                    category_words(&p.category)
                ));
                let other = crate::lang::normalize(&format!(
                    "{} {} {} {} {}",
                    colors.join(" "),
                    p.material.zh,
                    p.material.en,
                    p.description.zh,
                    p.description.en
                ));
                let tokens = [&name, &tags, &other].map(|t| tokens(&mut analyzer, t));
                (p.sku.clone(), Texts { name, tags, other, tokens })
            })
            .collect();
        let docs = products.iter().map(|p| {
            let colors: Vec<String> = p.colors.iter().map(|c| format!("{} {}", c.zh, c.en)).collect();
            Doc {
                key: p.sku.clone(),
                texts: vec![
                    format!("{} {}", p.name.zh, p.name.en),
                    format!("{} {}", p.name.zh, p.name.en),
                    format!("{} {}", p.tags.join(" "), p.category),
                    format!("{} {} {}", colors.join(" "), p.material.zh, p.material.en),
                    format!("{} {}", p.description.zh, p.description.en),
                ],
            }
        });
        Ok(ProductIndex { index: TextIndex::build(&FIELDS, docs)?, texts })
    }

    /// The best `limit` products for a shopper's words, best first.
    pub fn search(&self, query: &str, limit: usize) -> Result<Vec<ProductHit>, SearchError> {
        Ok(self
            .index
            .search(query, limit)?
            .into_iter()
            .map(|(sku, score)| ProductHit { sku, score })
            .collect())
    }

    /// The staff's product lookup: the best `limit` products for `query`, ranked first by where
    /// all its words are found ([`Found`]: name or sku, then tags or category, then anywhere),
    /// then by the shoppers' search score. Products that match only partly are left out when
    /// any matches whole ("牛仔裤" lists the jeans, not a bag made of 牛皮).
    pub fn lookup(&self, query: &str, limit: usize) -> Result<Vec<ProductHit>, SearchError> {
        TextIndex::check_query(query)?;
        let mut words = tokens(&mut words_analyzer(), query);
        words.sort();
        words.dedup();
        // the query as typed counts too (a sku, or Chinese that jieba cuts differently)
        let whole = vec![crate::lang::normalize(query.trim())];
        let scores: HashMap<String, f32> =
            self.index.search(query, self.texts.len().max(1))?.into_iter().collect();
        let mut ranked: Vec<(Found, f32, usize, &str)> = self
            .texts
            .iter()
            .enumerate()
            .filter_map(|(i, (sku, texts))| {
                let found = texts.found(&words).min(texts.found(&whole));
                let score = scores.get(sku).copied();
                (found != Found::Partly || score.is_some())
                    .then(|| (found, score.unwrap_or(0.0), i, sku.as_str()))
            })
            .collect();
        if ranked.iter().any(|r| r.0 != Found::Partly) {
            ranked.retain(|r| r.0 != Found::Partly);
        }
        ranked.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.total_cmp(&a.1)).then(a.2.cmp(&b.2)));
        Ok(ranked
            .into_iter()
            .take(limit)
            .map(|(_, score, _, sku)| ProductHit { sku: sku.to_string(), score })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::knowledge::KnowledgeBase;

    fn index() -> ProductIndex {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("knowledge");
        let kb = KnowledgeBase::load(&root).unwrap();
        ProductIndex::build(&kb.products).unwrap()
    }

    fn skus(hits: &[ProductHit]) -> Vec<&str> {
        hits.iter().map(|h| h.sku.as_str()).collect()
    }

    #[test]
    fn staff_lookup_ranks_names_and_categories_above_descriptions() {
        let idx = index();
        // the jeans, and not the bag of 牛皮 (the shoppers' search still finds it by 牛)
        assert_eq!(skus(&idx.lookup("牛仔裤", 5).unwrap()), ["QM-WO-002"]);
        assert!(skus(&idx.search("牛仔裤", 5).unwrap()).contains(&"QM-BA-002"));
        // a word in names first, then where it is only a tag or in the description
        let leather = idx.lookup("leather", 5).unwrap();
        let first: Vec<&str> = skus(&leather).into_iter().take(3).collect();
        for sku in ["QM-BA-002", "QM-BA-005", "QM-SH-003"] {
            assert!(first.contains(&sku), "{sku} named leather, in {first:?}");
        }
        // a category: every shoe, and only shoes
        let shoes = idx.lookup("鞋", 10).unwrap();
        assert_eq!(shoes.len(), 6, "{:?}", skus(&shoes));
        assert!(shoes.iter().all(|h| h.sku.starts_with("QM-SH-")), "{:?}", skus(&shoes));
        // a sku, in any case
        assert_eq!(skus(&idx.lookup("qm-ba-004", 5).unwrap())[0], "QM-BA-004");
        // words found nowhere whole: the shoppers' ranking, nothing dropped
        assert!(!idx.lookup("牛仔外套", 5).unwrap().is_empty());
    }
}

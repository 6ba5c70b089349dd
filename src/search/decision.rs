//! What to do with a search result: answer, suggest alternatives, or say nothing matches.
//!
//! The thresholds are not guessed: `kefu eval faq --tune` chooses them on the held-out
//! evaluation set (knowledge/eval/faq.toml) and writes them to `knowledge/search.toml`.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::SearchError;
use crate::lang::Lang;

/// The search's verdict on a question.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// The best hit is confident enough to be given as the answer.
    Answer,
    /// Something related exists: offer the best hits as suggestions.
    Suggest,
    /// Nothing in the knowledge base answers this.
    NoMatch,
}

/// Confidence limits for one language.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LangThresholds {
    /// Lowest confidence at which the best hit is given as the answer.
    pub answer: f32,
    /// Lowest confidence at which hits are suggested; below it: no match.
    pub suggest: f32,
}

/// Decision thresholds per language.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Thresholds {
    pub zh: LangThresholds,
    pub en: LangThresholds,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    faq: Thresholds,
}

/// Name of the thresholds file inside the knowledge folder.
pub const FILE_NAME: &str = "search.toml";

impl Thresholds {
    pub fn get(&self, lang: Lang) -> LangThresholds {
        match lang {
            Lang::Zh => self.zh,
            Lang::En => self.en,
        }
    }

    pub fn set(&mut self, lang: Lang, t: LangThresholds) {
        match lang {
            Lang::Zh => self.zh = t,
            Lang::En => self.en = t,
        }
    }

    pub fn decide(&self, lang: Lang, confidence: f32) -> Decision {
        let t = self.get(lang);
        if confidence >= t.answer {
            Decision::Answer
        } else if confidence >= t.suggest {
            Decision::Suggest
        } else {
            Decision::NoMatch
        }
    }

    /// Reads `search.toml` from the knowledge folder.
    pub fn load(knowledge: &Path) -> Result<Thresholds, SearchError> {
        let path = knowledge.join(FILE_NAME);
        let err = |message: String| SearchError::Thresholds { path: path.display().to_string(), message };
        let text = std::fs::read_to_string(&path)
            .map_err(|e| err(format!("{e} (run `kefu eval faq --tune` to create it)")))?;
        let file: File = toml::from_str(&text).map_err(|e| err(e.to_string()))?;
        for lang in Lang::ALL {
            let t = file.faq.get(lang);
            if !(t.answer.is_finite() && t.suggest.is_finite() && t.suggest <= t.answer) {
                return Err(err(format!("{lang}: need finite values with suggest <= answer")));
            }
        }
        Ok(file.faq)
    }

    /// Writes `search.toml` into the knowledge folder.
    pub fn save(&self, knowledge: &Path) -> std::io::Result<()> {
        let body = toml::to_string(&File { faq: *self }).expect("thresholds serialise");
        let text = format!(
            "# FAQ search decision thresholds per language, chosen by `kefu eval faq --tune`\n\
             # on knowledge/eval/faq.toml. Confidence = best hit's score (see src/search/faq_index.rs).\n\
             # answer: answer directly at or above; suggest: offer alternatives at or above; below: no match.\n\n{body}"
        );
        std::fs::write(knowledge.join(FILE_NAME), text)
    }
}

//! The classifier's tokenizer, built with the `tokenizers` crate and trained from the
//! training texts by `kefu train` (saved as `tokenizer.json` next to the model).
//!
//! Normalisation: NFKC (full-width forms become ASCII), long digit runs such as order and phone
//! numbers become one placeholder (`0000`), control characters removed, Chinese characters
//! spaced apart (each is a token), lower case. Pre-tokenisation: whitespace, and every character
//! that is neither letter nor digit (punctuation, emoji) on its own. Model: WordPiece subwords
//! for English; anything never seen in training maps to `[UNK]` (never silently dropped).

use std::path::Path;

use tokenizers::models::wordpiece::{WordPiece, WordPieceTrainer};
use tokenizers::normalizers::{BertNormalizer, Replace, Sequence as NormalizerSequence, NFKC};
use tokenizers::pre_tokenizers::sequence::Sequence as PreTokenizerSequence;
use tokenizers::pre_tokenizers::split::Split;
use tokenizers::pre_tokenizers::whitespace::WhitespaceSplit;
use tokenizers::{
    AddedToken, DecoderWrapper, NormalizerWrapper, PostProcessorWrapper, PreTokenizerWrapper,
    SplitDelimiterBehavior, Tokenizer, TokenizerImpl,
};

use super::IntentError;

pub const UNK: &str = "[UNK]";
/// Placeholder for runs of five or more digits (order numbers, phone numbers).
pub const NUMBER: &str = " 0000 ";

fn pipeline() -> Result<(NormalizerWrapper, PreTokenizerWrapper), IntentError> {
    let tok = |e: tokenizers::Error| IntentError::Tokenizer(e.to_string());
    let normalizer = NormalizerSequence::new(vec![
        NFKC.into(),
        Replace::new(tokenizers::normalizers::replace::ReplacePattern::Regex(r"\d{5,}".into()), NUMBER)
            .map_err(tok)?
            .into(),
        BertNormalizer::new(true, true, Some(false), true).into(),
    ]);
    let pre = PreTokenizerSequence::new(vec![
        WhitespaceSplit.into(),
        Split::new(
            tokenizers::pre_tokenizers::split::SplitPattern::Regex(r"[^\p{L}\p{N}]".into()),
            SplitDelimiterBehavior::Isolated,
            false,
        )
        .map_err(tok)?
        .into(),
    ]);
    Ok((normalizer.into(), pre.into()))
}

/// Trains a WordPiece tokenizer of at most `vocab_size` entries on `texts`.
pub fn train(texts: &[String], vocab_size: usize) -> Result<Tokenizer, IntentError> {
    let tok = |e: tokenizers::Error| IntentError::Tokenizer(e.to_string());
    let (normalizer, pre) = pipeline()?;
    let model = WordPiece::builder().unk_token(UNK.into()).build().map_err(tok)?;
    let mut t: TokenizerImpl<WordPiece, NormalizerWrapper, PreTokenizerWrapper, PostProcessorWrapper, DecoderWrapper> =
        TokenizerImpl::new(model);
    t.with_normalizer(Some(normalizer)).with_pre_tokenizer(Some(pre));
    let mut trainer = WordPieceTrainer::builder()
        .vocab_size(vocab_size)
        .min_frequency(1)
        .show_progress(false)
        .special_tokens(vec![AddedToken::from(UNK, true)])
        .build();
    t.train(&mut trainer, texts.iter()).map_err(tok)?;
    Ok(Tokenizer::from(t))
}

pub fn load(path: &Path) -> Result<Tokenizer, IntentError> {
    Tokenizer::from_file(path).map_err(|e| IntentError::Files(format!("{}: {e}", path.display())))
}

pub fn save(t: &Tokenizer, path: &Path) -> Result<(), IntentError> {
    t.save(path, false).map_err(|e| IntentError::Files(format!("{}: {e}", path.display())))
}

/// Token ids and the token strings of a text.
pub fn encode(t: &Tokenizer, text: &str) -> Result<(Vec<u32>, Vec<String>), IntentError> {
    let enc = t.encode(text, false).map_err(|e| IntentError::Tokenizer(e.to_string()))?;
    Ok((enc.get_ids().to_vec(), enc.get_tokens().to_vec()))
}

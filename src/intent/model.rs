//! The intent model: a bag of embedded token, token-pair and character n-gram features, a
//! hidden layer, and a softmax over the labels (fastText-style, in candle). Out-of-scope: an
//! explicit label in the data plus a confidence threshold tuned on a development split; a
//! prediction below it is `out_of_scope`.
//!
//! Files of a model directory: `model.safetensors` (weights), `config.json` (labels, sizes,
//! threshold, training facts), `tokenizer.json`.

use std::collections::HashMap;
use std::path::Path;

use candle_core::{DType, Device, Tensor};
use serde::{Deserialize, Serialize};
use tokenizers::Tokenizer;

use super::features::{features, FeatureSpace};
use super::labels::OUT_OF_SCOPE;
use super::{tokenizer, IntentError};

pub const WEIGHTS_FILE: &str = "model.safetensors";
pub const CONFIG_FILE: &str = "config.json";
pub const TOKENIZER_FILE: &str = "tokenizer.json";
/// Version of the files' layout; a model written by another layout is refused.
pub const FORMAT_VERSION: u32 = 1;

/// Everything about a model but its weights.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ModelConfig {
    pub format_version: u32,
    pub labels: Vec<String>,
    pub space: FeatureSpace,
    pub dim: usize,
    /// 0 for a linear model over the bag.
    pub hidden: usize,
    /// Below this top probability the prediction is out of scope.
    pub oos_threshold: f32,
    /// When set, the out-of-scope label wins only with at least this probability: otherwise
    /// the best in-scope label is the prediction (still subject to `oos_threshold`). A long
    /// store question whose probability is spread over several store intents is then no longer
    /// out of scope just because `out_of_scope` is the single largest share. Absent (older
    /// models): the plain arg-max.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oos_mass: Option<f32>,
    pub unk_id: u32,
    /// How it was trained (seed, epochs, data sizes, dev metrics, time).
    pub training: serde_json::Value,
}

/// The weights, as tensors on the CPU.
#[derive(Debug, Clone)]
pub struct Weights {
    pub emb: Tensor,
    pub w1: Option<(Tensor, Tensor)>,
    pub out: (Tensor, Tensor),
}

impl Weights {
    /// Logits `[batch, labels]` for a batch of feature lists.
    pub fn forward(&self, batch: &[Vec<u32>]) -> candle_core::Result<Tensor> {
        let dev = self.emb.device();
        let total: usize = batch.iter().map(Vec::len).sum();
        let mut flat = Vec::with_capacity(total);
        let mut avg = vec![0f32; batch.len() * total];
        let mut col = 0;
        for (row, f) in batch.iter().enumerate() {
            for &id in f {
                flat.push(id);
                avg[row * total + col] = 1.0 / f.len() as f32;
                col += 1;
            }
        }
        let ids = Tensor::from_vec(flat, total, dev)?;
        let avg = Tensor::from_vec(avg, (batch.len(), total), dev)?;
        let bags = avg.matmul(&self.emb.index_select(&ids, 0)?)?;
        head(&bags, self.w1.as_ref(), &self.out)
    }

    /// The tensors to store. The embedding table, by far the largest, is stored as f16 (half
    /// the size; predictions change by less than 1e-3 in probability) and widened on load.
    fn to_map(&self) -> candle_core::Result<HashMap<String, Tensor>> {
        let mut m = HashMap::new();
        m.insert("emb".to_string(), self.emb.to_dtype(DType::F16)?);
        if let Some((w, b)) = &self.w1 {
            m.insert("hidden.weight".to_string(), w.clone());
            m.insert("hidden.bias".to_string(), b.clone());
        }
        m.insert("out.weight".to_string(), self.out.0.clone());
        m.insert("out.bias".to_string(), self.out.1.clone());
        Ok(m)
    }
}

/// The layers after the bag: logits `[batch, labels]` from bag vectors `[batch, dim]`.
pub fn head(
    bags: &Tensor,
    hidden: Option<&(Tensor, Tensor)>,
    out: &(Tensor, Tensor),
) -> candle_core::Result<Tensor> {
    let mut x = bags.clone();
    if let Some((w, b)) = hidden {
        x = x.matmul(w)?.broadcast_add(b)?.relu()?;
    }
    x.matmul(&out.0)?.broadcast_add(&out.1)
}

/// A prediction: the intent (or `out_of_scope`), its confidence and the top labels.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Prediction {
    pub intent: String,
    pub confidence: f32,
    /// The best labels by probability, best first (before the out-of-scope threshold).
    pub top: Vec<(String, f32)>,
}

/// A loaded intent classifier. Cheap to share across threads (`Arc<IntentModel>`).
pub struct IntentModel {
    pub config: ModelConfig,
    tokenizer: Tokenizer,
    weights: Weights,
}

impl IntentModel {
    pub fn new(config: ModelConfig, tokenizer: Tokenizer, weights: Weights) -> Self {
        IntentModel { config, tokenizer, weights }
    }

    pub fn labels(&self) -> &[String] {
        &self.config.labels
    }

    pub fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }

    pub fn weights(&self) -> &Weights {
        &self.weights
    }

    /// The model's features of a text.
    pub fn featurize(&self, text: &str) -> Result<Vec<u32>, IntentError> {
        featurize(&self.tokenizer, &self.config, text)
    }

    /// Probabilities over the labels for each text.
    pub fn probabilities(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, IntentError> {
        let feats = texts.iter().map(|t| self.featurize(t)).collect::<Result<Vec<_>, _>>()?;
        let logits = self.weights.forward(&feats)?;
        Ok(candle_nn::ops::softmax_last_dim(&logits)?.to_vec2::<f32>()?)
    }

    /// Classifies one message: top-`k` labels and the decision after the out-of-scope threshold.
    pub fn predict(&self, text: &str, k: usize) -> Result<Prediction, IntentError> {
        let probs = self.probabilities(&[text])?.pop().unwrap_or_default();
        Ok(self.decide(&probs, k))
    }

    /// Turns probabilities into a prediction.
    pub fn decide(&self, probs: &[f32], k: usize) -> Prediction {
        let mut order: Vec<usize> = (0..probs.len()).collect();
        order.sort_by(|&a, &b| probs[b].total_cmp(&probs[a]));
        let top: Vec<(String, f32)> =
            order.iter().take(k.max(1)).map(|&i| (self.config.labels[i].clone(), probs[i])).collect();
        let (best, p) = top.first().cloned().unwrap_or((OUT_OF_SCOPE.to_string(), 0.0));
        if let (Some(mass), Some(oos)) = (self.config.oos_mass, self.oos_index()) {
            if probs[oos] >= mass {
                return Prediction { intent: OUT_OF_SCOPE.to_string(), confidence: probs[oos], top };
            }
            // the best in-scope label
            let Some(&i) = order.iter().find(|&&i| i != oos) else {
                return Prediction { intent: OUT_OF_SCOPE.to_string(), confidence: p, top };
            };
            let q = probs[i];
            let intent = if q < self.config.oos_threshold {
                OUT_OF_SCOPE.to_string()
            } else {
                self.config.labels[i].clone()
            };
            return Prediction { intent, confidence: q, top };
        }
        let intent = if p < self.config.oos_threshold { OUT_OF_SCOPE.to_string() } else { best };
        Prediction { intent, confidence: p, top }
    }

    fn oos_index(&self) -> Option<usize> {
        self.config.labels.iter().position(|l| l == OUT_OF_SCOPE)
    }

    /// Writes the model directory (created if needed).
    pub fn save(&self, dir: &Path) -> Result<(), IntentError> {
        std::fs::create_dir_all(dir).map_err(|e| IntentError::Files(format!("{}: {e}", dir.display())))?;
        candle_core::safetensors::save(&self.weights.to_map()?, dir.join(WEIGHTS_FILE))?;
        let json = serde_json::to_string_pretty(&self.config).expect("config serialises");
        std::fs::write(dir.join(CONFIG_FILE), json + "\n")
            .map_err(|e| IntentError::Files(format!("{}: {e}", dir.join(CONFIG_FILE).display())))?;
        tokenizer::save(&self.tokenizer, &dir.join(TOKENIZER_FILE))
    }

    /// Loads a model directory, checking that its files agree with each other.
    pub fn load(dir: &Path) -> Result<IntentModel, IntentError> {
        let bad = |what: String| IntentError::Files(format!("{}: {what}", dir.display()));
        let config_path = dir.join(CONFIG_FILE);
        let text = std::fs::read_to_string(&config_path)
            .map_err(|e| bad(format!("cannot read {CONFIG_FILE}: {e} (train one with `kefu train`)")))?;
        let config: ModelConfig =
            serde_json::from_str(&text).map_err(|e| bad(format!("{CONFIG_FILE} is invalid: {e}")))?;
        if config.format_version != FORMAT_VERSION {
            return Err(bad(format!(
                "model format {} but this kefu reads format {FORMAT_VERSION}: retrain with `kefu train`",
                config.format_version
            )));
        }
        let tokenizer = tokenizer::load(&dir.join(TOKENIZER_FILE))?;
        if tokenizer.get_vocab_size(true) as u32 != config.space.vocab {
            return Err(bad(format!(
                "{TOKENIZER_FILE} has {} tokens but {CONFIG_FILE} expects {}: files from different trainings",
                tokenizer.get_vocab_size(true),
                config.space.vocab
            )));
        }
        let mut map = candle_core::safetensors::load(dir.join(WEIGHTS_FILE), &Device::Cpu)
            .map_err(|e| bad(format!("cannot read {WEIGHTS_FILE}: {e}")))?;
        let mut take = |name: &str, shape: &[usize]| -> Result<Tensor, IntentError> {
            let t = map.remove(name).ok_or_else(|| bad(format!("{WEIGHTS_FILE} has no tensor {name:?}")))?;
            let t = if t.dtype() == DType::F16 { t.to_dtype(DType::F32)? } else { t };
            if t.dims() != shape || t.dtype() != DType::F32 {
                return Err(bad(format!(
                    "tensor {name:?} is {:?} {:?}, expected F32 {shape:?}: weights and config disagree",
                    t.dtype(),
                    t.dims()
                )));
            }
            Ok(t)
        };
        let n = config.labels.len();
        let emb = take("emb", &[config.space.size(), config.dim])?;
        let (w1, last) = if config.hidden > 0 {
            let w = take("hidden.weight", &[config.dim, config.hidden])?;
            let b = take("hidden.bias", &[config.hidden])?;
            (Some((w, b)), config.hidden)
        } else {
            (None, config.dim)
        };
        let out = (take("out.weight", &[last, n])?, take("out.bias", &[n])?);
        Ok(IntentModel { config, tokenizer, weights: Weights { emb, w1, out } })
    }
}

/// Features of a text under a tokenizer and config (shared by training and prediction).
pub fn featurize(tokenizer: &Tokenizer, config: &ModelConfig, text: &str) -> Result<Vec<u32>, IntentError> {
    let (ids, tokens) = tokenizer::encode(tokenizer, text)?;
    Ok(features(&config.space, &ids, &tokens, config.unk_id))
}

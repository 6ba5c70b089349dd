//! From tokens to the sparse features the model embeds: the token ids, hashed pairs of
//! neighbouring tokens (Chinese character bigrams, English word pairs), hashed character
//! 3- and 4-grams of English words (robust to typos such as "retrun" or "refnd"), and, in
//! scheme 1 only, hashed triples of neighbouring Chinese characters ("运费险"; measured, not
//! better, so not the default).

/// Sizes of the feature space: token ids first, then hash buckets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FeatureSpace {
    pub vocab: u32,
    pub buckets: u32,
    /// Which features: 0 (models trained before it existed, the field is absent) = ids, pairs
    /// and English character n-grams; 1 = also Chinese character triples.
    #[serde(default)]
    pub scheme: u32,
}

fn is_han(token: &str) -> bool {
    let mut chars = token.chars();
    matches!((chars.next(), chars.next()), (Some(c), None) if is_han_char(c))
}

fn is_han_char(c: char) -> bool {
    matches!(c as u32, 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x2FA1F)
}

impl FeatureSpace {
    pub fn size(&self) -> usize {
        (self.vocab + self.buckets) as usize
    }

    fn bucket(&self, kind: u8, parts: &[&[u8]]) -> u32 {
        // FNV-1a: stable across platforms and releases, unlike std's hasher
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        let mut eat = |b: u8| {
            h ^= b as u64;
            h = h.wrapping_mul(0x0100_0000_01b3);
        };
        eat(kind);
        for p in parts {
            for &b in *p {
                eat(b);
            }
            eat(0xff);
        }
        self.vocab + (h % self.buckets as u64) as u32
    }
}

/// The features of one tokenised text. Never empty: a text without tokens gets `unk`.
pub fn features(space: &FeatureSpace, ids: &[u32], tokens: &[String], unk: u32) -> Vec<u32> {
    let mut out: Vec<u32> = ids.iter().copied().filter(|&i| i < space.vocab).collect();
    for w in ids.windows(2) {
        out.push(space.bucket(b'b', &[&w[0].to_le_bytes(), &w[1].to_le_bytes()]));
    }
    if space.scheme >= 1 && ids.len() == tokens.len() {
        for (w, t) in ids.windows(3).zip(tokens.windows(3)) {
            if t.iter().all(|t| is_han(t)) {
                out.push(
                    space.bucket(b't', &[&w[0].to_le_bytes(), &w[1].to_le_bytes(), &w[2].to_le_bytes()]),
                );
            }
        }
    }
    // whole words back from WordPiece pieces ("re", "##tur", "##n" → "return")
    let mut words: Vec<String> = Vec::new();
    for t in tokens {
        if let Some(rest) = t.strip_prefix("##") {
            if let Some(last) = words.last_mut() {
                last.push_str(rest);
                continue;
            }
        }
        words.push(t.clone());
    }
    for w in words.iter().filter(|w| w.len() >= 3 && w.bytes().all(|b| b.is_ascii_alphabetic())) {
        let padded: Vec<u8> = std::iter::once(b'<').chain(w.bytes()).chain(std::iter::once(b'>')).collect();
        for n in [3usize, 4] {
            for g in padded.windows(n) {
                out.push(space.bucket(b'c', &[g]));
            }
        }
    }
    if out.is_empty() {
        out.push(unk);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn features_are_stable_and_in_range() {
        let s = FeatureSpace { vocab: 100, buckets: 50, scheme: 0 };
        let f = features(&s, &[3, 7, 9], &["ret".into(), "##urn".into(), "x".into()], 0);
        assert_eq!(f, features(&s, &[3, 7, 9], &["ret".into(), "##urn".into(), "x".into()], 0));
        assert!(f.iter().all(|&x| (x as usize) < s.size()));
        assert_eq!(&f[..3], &[3, 7, 9]);
        assert_eq!(features(&s, &[], &[], 1), vec![1]);
    }

    #[test]
    fn scheme_1_adds_chinese_character_triples_only() {
        let old = FeatureSpace { vocab: 100, buckets: 50, scheme: 0 };
        let new = FeatureSpace { scheme: 1, ..old };
        let toks: Vec<String> = ["退", "货", "运", "费"].iter().map(|s| s.to_string()).collect();
        let a = features(&old, &[1, 2, 3, 4], &toks, 0);
        let b = features(&new, &[1, 2, 3, 4], &toks, 0);
        assert_eq!(b.len(), a.len() + 2, "two triples");
        assert_eq!(&b[..a.len()], &a[..], "the old features come first, unchanged");
        let en: Vec<String> = ["where", "is", "my"].iter().map(|s| s.to_string()).collect();
        assert_eq!(features(&old, &[5, 6, 7], &en, 0), features(&new, &[5, 6, 7], &en, 0));
    }
}

//! Whether an FAQ entry's Chinese and English answers still say the same thing, as far as the
//! history can tell. Nobody can check meaning by machine here, so the rule is about edits: when
//! one language's answer changes and the other's does not, the other is *behind* until it is
//! changed too (in the same save or a later one). Derived from the entry's revisions (each has
//! the document before and after), so it needs no state of its own and holds for every change
//! ever made, through the API, a revert or an import of the files.
//!
//! Pure: revisions in, [`AnswerSync`] out.

use serde::Serialize;

use crate::lang::Lang;
use crate::store::Revision;

/// The last change of one language's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AnswerEdit {
    /// The entry's version that changed it.
    pub version: i64,
    pub by: String,
    pub at: String,
}

/// The two answers' edit history, and which one (if any) is behind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AnswerSync {
    pub zh: Option<AnswerEdit>,
    pub en: Option<AnswerEdit>,
    /// The language whose answer did not follow the other's last change; None when both
    /// changed together, or the lagging one was changed since.
    pub behind: Option<Lang>,
}

fn answer(doc: Option<&serde_json::Value>, lang: Lang) -> Option<&str> {
    doc?.get(lang.code())?.get("answer")?.as_str()
}

/// The answers' state after `revisions` (of one FAQ entry, oldest first).
pub fn answer_sync<'a>(revisions: impl IntoIterator<Item = &'a Revision>) -> AnswerSync {
    let mut sync = AnswerSync { zh: None, en: None, behind: None };
    for r in revisions {
        if r.after.is_none() {
            // deleted: a re-created entry starts afresh
            sync = AnswerSync { zh: None, en: None, behind: None };
            continue;
        }
        let changed = |lang: Lang| answer(r.before.as_ref(), lang) != answer(r.after.as_ref(), lang);
        let edit = || AnswerEdit { version: r.version, by: r.author.clone(), at: r.at.clone() };
        let (zh, en) = (changed(Lang::Zh), changed(Lang::En));
        if zh {
            sync.zh = Some(edit());
        }
        if en {
            sync.en = Some(edit());
        }
        sync.behind = match (zh, en) {
            (true, true) => None,
            (false, false) => sync.behind,
            // one changed alone: it either caught up with the other, or left the other behind
            (true, false) if sync.behind == Some(Lang::Zh) => None,
            (true, false) => Some(Lang::En),
            (false, true) if sync.behind == Some(Lang::En) => None,
            (false, true) => Some(Lang::Zh),
        };
    }
    sync
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc(zh: &str, en: &str) -> serde_json::Value {
        json!({"id": "x", "zh": {"questions": ["q"], "answer": zh}, "en": {"questions": ["q"], "answer": en}})
    }

    fn rev(version: i64, before: Option<serde_json::Value>, after: Option<serde_json::Value>) -> Revision {
        Revision {
            id: version,
            kind: "faq".into(),
            entry_id: "x".into(),
            version,
            action: "update".into(),
            author: format!("t{version}"),
            at: format!("2026-11-25T08:00:0{version}.000Z"),
            before,
            after,
        }
    }

    #[test]
    fn one_answer_edited_alone_leaves_the_other_behind_until_it_changes_too() {
        let v1 = doc("七天无理由退货", "7-day returns");
        let v2 = doc("七天无理由退货，运费由顾客承担", "7-day returns");
        let v3 = json!({"id": "x", "tags": ["new"], "zh": v2["zh"], "en": v2["en"]});
        let v4 = doc("七天无理由退货，运费由顾客承担", "7-day returns; the shopper pays the postage");
        let revs = [rev(1, None, Some(v1.clone())), rev(2, Some(v1.clone()), Some(v2.clone()))];
        let s = answer_sync(&revs);
        assert_eq!(s.behind, Some(Lang::En));
        assert_eq!(s.zh.as_ref().map(|e| e.version), Some(2));
        assert_eq!(s.en.as_ref().map(|e| (e.version, e.by.as_str())), Some((1, "t1")));
        // a change elsewhere (tags) does not settle it
        let revs = [revs[0].clone(), revs[1].clone(), rev(3, Some(v2.clone()), Some(v3.clone()))];
        assert_eq!(answer_sync(&revs).behind, Some(Lang::En));
        // the English answer follows: in sync again
        let mut all = revs.to_vec();
        all.push(rev(4, Some(v3), Some(v4.clone())));
        let s = answer_sync(&all);
        assert_eq!(s.behind, None);
        assert_eq!(s.en.map(|e| e.version), Some(4));
        // created with both, or both changed in one save: in sync
        assert_eq!(answer_sync(&[rev(1, None, Some(v1.clone()))]).behind, None);
        assert_eq!(
            answer_sync(&[rev(1, None, Some(v1.clone())), rev(2, Some(v1.clone()), Some(v4))]).behind,
            None
        );
        // English edited alone leaves Chinese behind
        let en_only = doc("七天无理由退货", "Returns within 7 days, no reason needed");
        assert_eq!(
            answer_sync(&[rev(1, None, Some(v1.clone())), rev(2, Some(v1.clone()), Some(en_only))]).behind,
            Some(Lang::Zh)
        );
        // deleted and made again: a new start
        let revs = [
            rev(1, None, Some(v1.clone())),
            rev(2, Some(v1.clone()), Some(v2.clone())),
            rev(3, Some(v2), None),
            rev(4, None, Some(v1)),
        ];
        assert_eq!(answer_sync(&revs).behind, None);
    }
}

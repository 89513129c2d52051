//! Reciprocal rank fusion.

use std::collections::HashMap;
use std::hash::Hash;

use codectx_core::{Signal, SignalHit};

/// One ranked list taking part in a fusion.
#[derive(Debug, Clone)]
pub struct RankedList<K> {
    /// Which signal produced it.
    pub signal: Signal,
    /// Weight of the list in the fusion (1.0 = plain RRF).
    pub weight: f32,
    /// Items, best first, with the signal's raw score.
    pub items: Vec<(K, f32)>,
}

/// A fused item.
#[derive(Debug, Clone, PartialEq)]
pub struct Fused<K> {
    /// The item.
    pub key: K,
    /// Σ over lists of `weight / (k + rank)`, rank 1-based.
    pub score: f32,
    /// The lists that had it, with its rank and raw score there.
    pub signals: Vec<SignalHit>,
}

/// Weighted reciprocal rank fusion (Cormack, Clarke and Büttcher, SIGIR 2009):
/// `score(d) = Σ_lists weight / (k + rank(d))`. An item repeated within a list
/// counts at its best rank. The result is sorted by score, ties broken by the key's
/// order so the output is deterministic.
pub fn reciprocal_rank_fusion<K: Clone + Eq + Hash + Ord>(lists: &[RankedList<K>], k: f32) -> Vec<Fused<K>> {
    let mut fused: HashMap<K, Fused<K>> = HashMap::new();
    for list in lists {
        let mut rank = 0u32;
        let mut seen = std::collections::HashSet::new();
        for (key, raw) in &list.items {
            if !seen.insert(key.clone()) {
                continue;
            }
            rank += 1;
            let entry =
                fused.entry(key.clone()).or_insert_with(|| Fused { key: key.clone(), score: 0.0, signals: Vec::new() });
            entry.score += list.weight / (k + rank as f32);
            entry.signals.push(SignalHit { signal: list.signal, rank, score: *raw });
        }
    }
    let mut out: Vec<Fused<K>> = fused.into_values().collect();
    out.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.key.cmp(&b.key)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fuses_by_reciprocal_rank() {
        let lists = vec![
            RankedList { signal: Signal::Bm25, weight: 1.0, items: vec![("a", 9.0), ("b", 5.0), ("c", 1.0)] },
            RankedList { signal: Signal::Symbol, weight: 1.0, items: vec![("c", 1.0), ("b", 1.0)] },
        ];
        let fused = reciprocal_rank_fusion(&lists, 60.0);
        // b: 1/62 + 1/62; c: 1/63 + 1/61; a: 1/61.
        assert_eq!(fused.iter().map(|f| f.key).collect::<Vec<_>>(), vec!["c", "b", "a"]);
        let b = &fused[1];
        assert!((b.score - 2.0 / 62.0).abs() < 1e-6);
        assert_eq!(b.signals.len(), 2);
        assert_eq!(b.signals[0].rank, 2);
    }
}

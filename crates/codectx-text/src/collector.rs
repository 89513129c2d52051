//! Top-k by score with an optional predicate on the chunk's path.
//!
//! The predicate is evaluated on the `path_key` fast field (a dictionary-encoded string
//! column), lazily and at most once per distinct path per segment, *inside* the
//! block-WAND scoring loop: rejected chunks never take a slot, so the search returns
//! `limit` hits whenever that many pass the filter, without over-fetching.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::StrColumn;
use tantivy::query::Weight;
use tantivy::{DocAddress, DocId, Score, SegmentOrdinal, SegmentReader};

use crate::schema::F_PATH_KEY;

/// Path predicate of a search.
pub(crate) type PathFilter<'f> = &'f (dyn Fn(&str) -> bool + Sync);

/// Heap entry ordered so that the heap's top is the *worst* hit: lowest score, and on
/// equal scores the highest doc id (ties keep the earliest documents).
#[derive(Clone, Copy, Debug)]
struct Entry {
    score: Score,
    doc: DocId,
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Entry {
    fn cmp(&self, other: &Self) -> Ordering {
        other.score.total_cmp(&self.score).then(self.doc.cmp(&other.doc))
    }
}

/// Bounded top-k of one segment.
struct TopK {
    k: usize,
    heap: BinaryHeap<Entry>,
}

impl TopK {
    fn new(k: usize) -> Self {
        TopK { k, heap: BinaryHeap::with_capacity(k.min(1 << 16)) }
    }

    /// Adds a hit; returns the score a later hit must exceed to enter.
    #[inline]
    fn push(&mut self, score: Score, doc: DocId) -> Score {
        if self.k == 0 {
            return Score::MAX;
        }
        if self.heap.len() < self.k {
            self.heap.push(Entry { score, doc });
        } else if let Some(mut worst) = self.heap.peek_mut() {
            if score > worst.score {
                *worst = Entry { score, doc };
            }
        }
        self.threshold()
    }

    #[inline]
    fn threshold(&self) -> Score {
        if self.heap.len() < self.k {
            Score::MIN
        } else {
            self.heap.peek().map_or(Score::MIN, |worst| worst.score)
        }
    }

    fn into_hits(self, segment: SegmentOrdinal) -> Vec<(Score, DocAddress)> {
        self.heap.into_iter().map(|e| (e.score, DocAddress::new(segment, e.doc))).collect()
    }
}

/// Per-segment filter state: the path column and a lazily filled verdict per path
/// ordinal (0 unknown, 1 pass, 2 reject).
struct SegmentFilter<'f> {
    filter: PathFilter<'f>,
    column: Option<StrColumn>,
    verdicts: Vec<u8>,
    scratch: String,
}

impl<'f> SegmentFilter<'f> {
    fn new(filter: PathFilter<'f>, reader: &SegmentReader) -> tantivy::Result<Self> {
        let column = reader.fast_fields().str(F_PATH_KEY)?;
        let terms = column.as_ref().map_or(0, |c| c.num_terms());
        Ok(SegmentFilter { filter, column, verdicts: vec![0; terms], scratch: String::new() })
    }

    #[inline]
    fn accepts(&mut self, doc: DocId) -> bool {
        let Some(column) = &self.column else {
            return false;
        };
        let Some(ord) = column.term_ords(doc).next() else {
            return false;
        };
        let Some(verdict) = self.verdicts.get_mut(ord as usize) else {
            return false;
        };
        match *verdict {
            1 => true,
            2 => false,
            _ => {
                self.scratch.clear();
                let pass =
                    matches!(column.ord_to_str(ord, &mut self.scratch), Ok(true)) && (self.filter)(&self.scratch);
                *verdict = if pass { 1 } else { 2 };
                pass
            }
        }
    }
}

/// Top `limit` documents by score, keeping only those whose path passes `filter`.
pub(crate) struct FilteredTopScore<'f> {
    pub(crate) limit: usize,
    pub(crate) filter: Option<PathFilter<'f>>,
}

/// Segment collector used only if tantivy ever bypasses [`Collector::collect_segment`];
/// it evaluates the filter eagerly for every path of the segment.
pub(crate) struct EagerSegmentCollector {
    segment: SegmentOrdinal,
    top: TopK,
    /// Path column and per-ordinal verdicts when a filter is set.
    filter: Option<(Option<StrColumn>, Vec<bool>)>,
}

impl SegmentCollector for EagerSegmentCollector {
    type Fruit = Vec<(Score, DocAddress)>;

    fn collect(&mut self, doc: DocId, score: Score) {
        if let Some((column, verdicts)) = &self.filter {
            let pass = column
                .as_ref()
                .and_then(|c| c.term_ords(doc).next())
                .and_then(|ord| verdicts.get(ord as usize).copied())
                .unwrap_or(false);
            if !pass {
                return;
            }
        }
        self.top.push(score, doc);
    }

    fn harvest(self) -> Self::Fruit {
        self.top.into_hits(self.segment)
    }
}

impl Collector for FilteredTopScore<'_> {
    type Fruit = Vec<(Score, DocAddress)>;
    type Child = EagerSegmentCollector;

    fn for_segment(&self, segment: SegmentOrdinal, reader: &SegmentReader) -> tantivy::Result<EagerSegmentCollector> {
        let filter = match self.filter {
            None => None,
            Some(filter) => {
                let column = reader.fast_fields().str(F_PATH_KEY)?;
                let mut verdicts = Vec::new();
                if let Some(column) = &column {
                    let mut path = String::new();
                    for ord in 0..column.num_terms() as u64 {
                        path.clear();
                        let found = column.ord_to_str(ord, &mut path)?;
                        verdicts.push(found && filter(&path));
                    }
                }
                Some((column, verdicts))
            }
        };
        Ok(EagerSegmentCollector { segment, top: TopK::new(self.limit), filter })
    }

    fn requires_scoring(&self) -> bool {
        true
    }

    fn merge_fruits(&self, segment_fruits: Vec<Vec<(Score, DocAddress)>>) -> tantivy::Result<Self::Fruit> {
        let mut all: Vec<(Score, DocAddress)> = segment_fruits.into_iter().flatten().collect();
        all.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        all.truncate(self.limit);
        Ok(all)
    }

    fn collect_segment(
        &self,
        weight: &dyn Weight,
        segment: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<Vec<(Score, DocAddress)>> {
        let mut top = TopK::new(self.limit);
        if self.limit == 0 {
            return Ok(Vec::new());
        }
        let alive = reader.alive_bitset();
        let mut filter = match self.filter {
            Some(filter) => Some(SegmentFilter::new(filter, reader)?),
            None => None,
        };
        let mut threshold = Score::MIN;
        weight.for_each_pruning(Score::MIN, reader, &mut |doc, score| {
            if alive.is_some_and(|alive| alive.is_deleted(doc)) {
                return threshold;
            }
            if let Some(filter) = filter.as_mut() {
                if !filter.accepts(doc) {
                    return threshold;
                }
            }
            threshold = top.push(score, doc);
            threshold
        })?;
        Ok(top.into_hits(segment))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_k_keeps_best_and_earliest_on_ties() {
        let mut top = TopK::new(2);
        assert_eq!(top.push(1.0, 0), Score::MIN);
        assert_eq!(top.push(3.0, 1), 1.0);
        assert_eq!(top.push(2.0, 2), 2.0);
        assert_eq!(top.push(2.0, 3), 2.0);
        let mut hits = top.into_hits(0);
        hits.sort_by(|a, b| b.0.total_cmp(&a.0));
        assert_eq!(hits, vec![(3.0, DocAddress::new(0, 1)), (2.0, DocAddress::new(0, 2))]);
        let mut empty = TopK::new(0);
        assert_eq!(empty.push(1.0, 0), Score::MAX);
        assert!(empty.into_hits(0).is_empty());
    }
}

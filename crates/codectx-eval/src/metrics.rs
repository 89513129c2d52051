//! Localization metrics as the literature reports them (Agentless, SweRank,
//! LocAgent): file Acc@k, file Recall@k, function Acc@k, MRR, and bundle recall.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The cut-offs reported for file metrics.
pub const FILE_KS: [usize; 4] = [1, 3, 5, 10];
/// The cut-offs reported for function metrics.
pub const FUNCTION_KS: [usize; 2] = [5, 10];
/// The token budgets at which bundle recall is measured.
pub const BUDGETS: [usize; 3] = [4_000, 8_000, 16_000];

/// The outcome of one instance under one configuration.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct InstanceResult {
    /// Instance id.
    pub instance_id: String,
    /// Configuration name.
    pub config: String,
    /// 1-based rank of each gold file among the distinct files returned (`None`: not returned).
    pub gold_file_ranks: BTreeMap<String, Option<usize>>,
    /// 1-based rank of each gold function (`path::Qualified.name`) among the
    /// distinct functions returned.
    pub gold_function_ranks: BTreeMap<String, Option<usize>>,
    /// 1-based rank of each gold function among the functions returned from its
    /// own file (was the file found but the function not?).
    #[serde(default)]
    pub gold_function_ranks_in_file: BTreeMap<String, Option<usize>>,
    /// The first 10 files returned, for reading failures.
    pub top_files: Vec<String>,
    /// The first 10 functions returned (`path::Qualified.name`, `path::<module>`
    /// for module-level code), for reading failures.
    #[serde(default)]
    pub top_functions: Vec<String>,
    /// Per budget: whether the bundle held every gold file.
    pub bundle_has_files: BTreeMap<usize, bool>,
    /// Per budget: whether the bundle held every gold function's whole body
    /// (`None` when the instance has no gold functions that exist in the index).
    pub bundle_has_functions: BTreeMap<usize, Option<bool>>,
    /// Milliseconds spent ranking files and functions (every signal, the fusion and
    /// the learned rankers; no assembly).
    pub rank_ms: f64,
}

impl InstanceResult {
    /// Whether every gold file is within the first `k` files.
    pub fn file_hit(&self, k: usize) -> bool {
        !self.gold_file_ranks.is_empty() && self.gold_file_ranks.values().all(|rank| rank.is_some_and(|rank| rank <= k))
    }

    /// Share of gold files within the first `k` files.
    pub fn file_recall(&self, k: usize) -> f64 {
        if self.gold_file_ranks.is_empty() {
            return 0.0;
        }
        let found = self.gold_file_ranks.values().filter(|rank| rank.is_some_and(|rank| rank <= k)).count();
        found as f64 / self.gold_file_ranks.len() as f64
    }

    /// Whether every gold function is within the first `k` functions; `None` when
    /// the instance has no gold functions.
    pub fn function_hit(&self, k: usize) -> Option<bool> {
        if self.gold_function_ranks.is_empty() {
            return None;
        }
        Some(self.gold_function_ranks.values().all(|rank| rank.is_some_and(|rank| rank <= k)))
    }

    /// Reciprocal rank of the first gold file (0 when none is returned).
    pub fn reciprocal_rank(&self) -> f64 {
        self.gold_file_ranks.values().flatten().min().map_or(0.0, |&rank| 1.0 / rank as f64)
    }
}

/// Aggregate metrics of one configuration over a set of instances.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Configuration name.
    pub config: String,
    /// Instances evaluated.
    pub instances: usize,
    /// File Acc@k for k in [`FILE_KS`] (share of instances, 0..1).
    pub file_acc: BTreeMap<usize, f64>,
    /// File Recall@k (mean over instances of the share of gold files in the top k).
    pub file_recall: BTreeMap<usize, f64>,
    /// Function Acc@k for k in [`FUNCTION_KS`], over instances with gold functions.
    pub function_acc: BTreeMap<usize, f64>,
    /// Instances with gold functions (the denominator of `function_acc`).
    pub function_instances: usize,
    /// Mean reciprocal rank of the first gold file.
    pub mrr: f64,
    /// Per budget: share of instances whose bundle held every gold file.
    pub bundle_file_recall: BTreeMap<usize, f64>,
    /// Per budget: share of instances (with gold functions) whose bundle held every gold function's body.
    pub bundle_function_recall: BTreeMap<usize, f64>,
    /// Median first-stage ranking time, milliseconds.
    pub median_rank_ms: f64,
}

/// Aggregates instance results of one configuration.
pub fn summarize(config: &str, results: &[&InstanceResult]) -> Summary {
    let count = results.len();
    let share = |hits: usize, of: usize| if of == 0 { 0.0 } else { hits as f64 / of as f64 };
    let mut summary = Summary { config: config.to_string(), instances: count, ..Summary::default() };
    for k in FILE_KS {
        summary.file_acc.insert(k, share(results.iter().filter(|result| result.file_hit(k)).count(), count));
        let recall: f64 = results.iter().map(|result| result.file_recall(k)).sum();
        summary.file_recall.insert(k, if count == 0 { 0.0 } else { recall / count as f64 });
    }
    let with_functions: Vec<&&InstanceResult> =
        results.iter().filter(|result| !result.gold_function_ranks.is_empty()).collect();
    summary.function_instances = with_functions.len();
    for k in FUNCTION_KS {
        let hits = with_functions.iter().filter(|result| result.function_hit(k) == Some(true)).count();
        summary.function_acc.insert(k, share(hits, with_functions.len()));
    }
    summary.mrr = if count == 0 {
        0.0
    } else {
        results.iter().map(|result| result.reciprocal_rank()).sum::<f64>() / count as f64
    };
    for budget in BUDGETS {
        let files = results.iter().filter(|result| result.bundle_has_files.get(&budget) == Some(&true)).count();
        summary.bundle_file_recall.insert(budget, share(files, count));
        let judged: Vec<Option<bool>> = results
            .iter()
            .filter_map(|result| result.bundle_has_functions.get(&budget).copied().flatten())
            .map(Some)
            .collect();
        let held = judged.iter().filter(|value| **value == Some(true)).count();
        summary.bundle_function_recall.insert(budget, share(held, judged.len()));
    }
    let mut times: Vec<f64> = results.iter().map(|result| result.rank_ms).collect();
    times.sort_by(f64::total_cmp);
    summary.median_rank_ms = times.get(times.len() / 2).copied().unwrap_or(0.0);
    summary
}

/// 1-based rank of `wanted` in `ranked` (distinct items, best first).
pub fn rank_of<T: PartialEq>(ranked: &[T], wanted: &T) -> Option<usize> {
    ranked.iter().position(|item| item == wanted).map(|index| index + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(files: &[(&str, Option<usize>)], functions: &[(&str, Option<usize>)]) -> InstanceResult {
        InstanceResult {
            gold_file_ranks: files.iter().map(|(path, rank)| (path.to_string(), *rank)).collect(),
            gold_function_ranks: functions.iter().map(|(name, rank)| (name.to_string(), *rank)).collect(),
            bundle_has_files: [(8000, true)].into_iter().collect(),
            bundle_has_functions: [(8000, Some(false))].into_iter().collect(),
            ..InstanceResult::default()
        }
    }

    #[test]
    fn metrics_match_hand_computed_values() {
        // A: one gold file at rank 1, function at rank 4.
        // B: two gold files at ranks 2 and 6, function missing.
        // C: gold file not found, no gold functions.
        let a = result(&[("a.py", Some(1))], &[("a.py::f", Some(4))]);
        let b = result(&[("b.py", Some(2)), ("c.py", Some(6))], &[("b.py::g", None)]);
        let mut c = result(&[("d.py", None)], &[]);
        c.bundle_has_files.insert(8000, false);
        c.bundle_has_functions.insert(8000, None);
        let summary = summarize("x", &[&a, &b, &c]);
        assert_eq!(summary.instances, 3);
        assert!((summary.file_acc[&1] - 1.0 / 3.0).abs() < 1e-9);
        assert!((summary.file_acc[&5] - 1.0 / 3.0).abs() < 1e-9); // B needs rank 6 for both files
        assert!((summary.file_acc[&10] - 2.0 / 3.0).abs() < 1e-9);
        // Recall@5: A 1, B 0.5, C 0 → 0.5.
        assert!((summary.file_recall[&5] - 0.5).abs() < 1e-9);
        // MRR: (1 + 1/2 + 0) / 3.
        assert!((summary.mrr - 0.5).abs() < 1e-9);
        assert_eq!(summary.function_instances, 2);
        assert!((summary.function_acc[&5] - 0.5).abs() < 1e-9);
        assert!((summary.function_acc[&10] - 0.5).abs() < 1e-9);
        assert!((summary.bundle_file_recall[&8000] - 2.0 / 3.0).abs() < 1e-9);
        assert!((summary.bundle_function_recall[&8000] - 0.0).abs() < 1e-9);
        assert_eq!(rank_of(&["x", "y"], &"y"), Some(2));
    }
}

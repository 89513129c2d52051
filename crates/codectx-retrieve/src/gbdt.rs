//! Gradient-boosted regression trees, read from LightGBM's text model format and
//! evaluated here.
//!
//! LightGBM (Ke et al., NeurIPS 2017) saves a model with `Booster.save_model()` as
//! text: a header (`max_feature_idx=`, `feature_names=`, `objective=`), then one
//! `Tree=N` block per tree with the node arrays `split_feature`, `threshold`,
//! `decision_type`, `left_child`, `right_child` and `leaf_value` (a child `< 0`
//! is leaf `!child`). [`Forest::parse`] reads that format and
//! [`Forest::predict`] reproduces `Booster.predict(..., raw_score=True)`: the sum
//! of the trees' leaf values, in `f64`, with LightGBM's rules for numerical
//! splits (`value <= threshold` goes left; NaN and, for `missing_type=Zero`,
//! zero follow the node's default direction). `training/ranker/` holds a check
//! file of LightGBM's own predictions that a test matches to 1e-6.
//!
//! Categorical splits and linear trees are refused at load: the rankers codectx
//! trains use neither.

use std::fmt;

/// A model file that [`Forest::parse`] cannot read: the line and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelError(pub String);

impl fmt::Display for ModelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid LightGBM model: {}", self.0)
    }
}

impl std::error::Error for ModelError {}

/// One regression tree, as flat node arrays (LightGBM's layout).
#[derive(Debug, Clone, PartialEq)]
struct Tree {
    split_feature: Vec<u32>,
    threshold: Vec<f64>,
    /// Bit 1: default left; bits 2–3: missing type (0 none, 1 zero, 2 NaN).
    decision_type: Vec<u8>,
    left_child: Vec<i32>,
    right_child: Vec<i32>,
    leaf_value: Vec<f64>,
}

/// LightGBM's `kZeroThreshold`: values within it of 0 count as zero.
const ZERO_THRESHOLD: f64 = 1e-35;

impl Tree {
    fn predict(&self, features: &[f64]) -> f64 {
        if self.split_feature.is_empty() {
            return self.leaf_value[0];
        }
        let mut node: i32 = 0;
        while node >= 0 {
            let index = node as usize;
            let mut value = features.get(self.split_feature[index] as usize).copied().unwrap_or(f64::NAN);
            let decision = self.decision_type[index];
            let missing = (decision >> 2) & 3;
            if value.is_nan() && missing != 2 {
                value = 0.0;
            }
            let is_missing = (missing == 1 && value.abs() <= ZERO_THRESHOLD) || (missing == 2 && value.is_nan());
            let left = if is_missing { decision & 2 != 0 } else { value <= self.threshold[index] };
            node = if left { self.left_child[index] } else { self.right_child[index] };
        }
        self.leaf_value[!node as usize]
    }

    /// Checks that every child index points inside the arrays and that the
    /// arrays agree in length.
    fn check(&self, number: usize) -> Result<(), ModelError> {
        let internal = self.split_feature.len();
        let leaves = self.leaf_value.len();
        let lengths = [self.threshold.len(), self.decision_type.len(), self.left_child.len(), self.right_child.len()];
        if lengths.iter().any(|&length| length != internal) || leaves != internal + 1 {
            return Err(ModelError(format!("tree {number}: node arrays of different lengths")));
        }
        for &child in self.left_child.iter().chain(&self.right_child) {
            let inside = if child >= 0 { (child as usize) < internal } else { (!child as usize) < leaves };
            if !inside {
                return Err(ModelError(format!("tree {number}: child {child} outside the tree")));
            }
        }
        if self.decision_type.iter().any(|decision| decision & 1 != 0) {
            return Err(ModelError(format!("tree {number}: categorical splits are not supported")));
        }
        Ok(())
    }
}

/// A LightGBM model: a sum of regression trees over a fixed feature vector.
#[derive(Debug, Clone, PartialEq)]
pub struct Forest {
    feature_names: Vec<String>,
    objective: String,
    trees: Vec<Tree>,
}

impl Forest {
    /// Reads a model saved by LightGBM's `Booster.save_model()` (text format,
    /// version v3 or v4).
    ///
    /// Errors: [`ModelError`] for a file that is not such a model, a tree whose
    /// arrays disagree, a child outside its tree, categorical splits or linear
    /// trees, or a split on a feature past `max_feature_idx`.
    pub fn parse(text: &str) -> Result<Forest, ModelError> {
        let mut lines = text.lines().map(str::trim);
        if lines.next() != Some("tree") {
            return Err(ModelError("the first line is not `tree`".into()));
        }
        let mut feature_names = Vec::new();
        let mut max_feature: Option<usize> = None;
        let mut objective = String::new();
        let mut trees = Vec::new();
        let mut current: Option<Vec<(String, String)>> = None;
        let finish = |fields: Vec<(String, String)>, trees: &mut Vec<Tree>| -> Result<(), ModelError> {
            let number = trees.len();
            let get = |key: &str| fields.iter().find(|(name, _)| name == key).map(|(_, value)| value.as_str());
            if get("num_cat").is_some_and(|count| count != "0") {
                return Err(ModelError(format!("tree {number}: categorical splits are not supported")));
            }
            if get("is_linear").is_some_and(|linear| linear != "0") {
                return Err(ModelError(format!("tree {number}: linear trees are not supported")));
            }
            fn array<T: std::str::FromStr>(
                value: Option<&str>,
                key: &str,
                number: usize,
            ) -> Result<Vec<T>, ModelError> {
                value
                    .unwrap_or_default()
                    .split_whitespace()
                    .map(|item| item.parse::<T>())
                    .collect::<Result<Vec<T>, _>>()
                    .map_err(|_| ModelError(format!("tree {number}: unreadable {key}")))
            }
            let tree = Tree {
                split_feature: array(get("split_feature"), "split_feature", number)?,
                threshold: array(get("threshold"), "threshold", number)?,
                decision_type: array(get("decision_type"), "decision_type", number)?,
                left_child: array(get("left_child"), "left_child", number)?,
                right_child: array(get("right_child"), "right_child", number)?,
                leaf_value: array(get("leaf_value"), "leaf_value", number)?,
            };
            if tree.leaf_value.is_empty() {
                return Err(ModelError(format!("tree {number}: no leaf values")));
            }
            tree.check(number)?;
            trees.push(tree);
            Ok(())
        };
        for line in lines {
            if line == "end of trees" {
                break;
            }
            if line == "average_output" {
                return Err(ModelError("averaged (random forest) models are not supported".into()));
            }
            if line.starts_with("Tree=") {
                if let Some(fields) = current.take() {
                    finish(fields, &mut trees)?;
                }
                current = Some(Vec::new());
                continue;
            }
            let Some((key, value)) = line.split_once('=') else { continue };
            match &mut current {
                Some(fields) => fields.push((key.to_string(), value.to_string())),
                None => match key {
                    "feature_names" => feature_names = value.split_whitespace().map(str::to_string).collect(),
                    "max_feature_idx" => {
                        max_feature = Some(value.parse().map_err(|_| ModelError("unreadable max_feature_idx".into()))?)
                    }
                    "objective" => objective = value.to_string(),
                    "num_class" | "num_tree_per_iteration" if value != "1" => {
                        return Err(ModelError(format!("{key}={value}: only single-output models are supported")))
                    }
                    _ => {}
                },
            }
        }
        if let Some(fields) = current.take() {
            finish(fields, &mut trees)?;
        }
        let Some(max_feature) = max_feature else {
            return Err(ModelError("no max_feature_idx".into()));
        };
        if trees.is_empty() {
            return Err(ModelError("no trees".into()));
        }
        if trees.iter().flat_map(|tree| &tree.split_feature).any(|&feature| feature as usize > max_feature) {
            return Err(ModelError(format!("a split on a feature past max_feature_idx={max_feature}")));
        }
        if feature_names.is_empty() {
            feature_names = (0..=max_feature).map(|index| format!("Column_{index}")).collect();
        }
        if feature_names.len() != max_feature + 1 {
            return Err(ModelError(format!("{} feature names for max_feature_idx={max_feature}", feature_names.len())));
        }
        Ok(Forest { feature_names, objective, trees })
    }

    /// The model's raw score of one feature vector: the sum of its trees' leaf
    /// values (LightGBM's `predict(raw_score=True)`). A feature past the end of
    /// `features` reads as missing (NaN).
    pub fn predict(&self, features: &[f64]) -> f64 {
        self.trees.iter().map(|tree| tree.predict(features)).sum()
    }

    /// The feature names the model was trained with, in vector order.
    pub fn feature_names(&self) -> &[String] {
        &self.feature_names
    }

    /// The training objective LightGBM recorded (`lambdarank`, ...).
    pub fn objective(&self) -> &str {
        &self.objective
    }

    /// Number of trees.
    pub fn len(&self) -> usize {
        self.trees.len()
    }

    /// Whether the model has no trees (never true of a parsed model).
    pub fn is_empty(&self) -> bool {
        self.trees.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two trees written as LightGBM writes them: a stump on `a` (NaN goes
    /// right) and a two-split tree on `b` with zero as missing, default left.
    const MODEL: &str = "tree\nversion=v4\nnum_class=1\nnum_tree_per_iteration=1\nlabel_index=0\n\
max_feature_idx=1\nobjective=lambdarank\nfeature_names=a b\n\n\
Tree=0\nnum_leaves=2\nnum_cat=0\nsplit_feature=0\nthreshold=0.5\ndecision_type=8\n\
left_child=-1\nright_child=-2\nleaf_value=-1 1\nis_linear=0\nshrinkage=1\n\n\n\
Tree=1\nnum_leaves=3\nnum_cat=0\nsplit_feature=1 1\nthreshold=2.5 10\ndecision_type=6 0\n\
left_child=-1 -2\nright_child=1 -3\nleaf_value=0.25 0.5 0.75\nis_linear=0\nshrinkage=1\n\n\n\
end of trees\n";

    #[test]
    fn follows_lightgbm_split_rules() {
        let forest = Forest::parse(MODEL).expect("model");
        assert_eq!(forest.len(), 2);
        assert_eq!(forest.feature_names(), ["a", "b"]);
        assert_eq!(forest.objective(), "lambdarank");
        // a ≤ 0.5 → -1; b ≤ 2.5 → 0.25.
        assert_eq!(forest.predict(&[0.0, 1.0]), -0.75);
        // a > 0.5 → 1; 2.5 < b ≤ 10 → 0.5.
        assert_eq!(forest.predict(&[0.7, 3.0]), 1.5);
        // b > 10 → 0.75.
        assert_eq!(forest.predict(&[0.7, 11.0]), 1.75);
        // NaN with missing type NaN goes the default way (right, for tree 0).
        assert_eq!(forest.predict(&[f64::NAN, 11.0]), 1.75);
        // Zero with missing type Zero goes the default way (left), whatever the threshold says.
        assert_eq!(forest.predict(&[0.0, 0.0]), -0.75);
        // A missing feature reads as NaN: tree 1 treats NaN as zero, then zero as missing: left.
        assert_eq!(forest.predict(&[1.0]), 1.25);
    }

    #[test]
    fn refuses_what_it_cannot_evaluate() {
        assert!(Forest::parse("").is_err());
        assert!(Forest::parse("tree\nmax_feature_idx=1\n").unwrap_err().0.contains("no trees"));
        let categorical = MODEL.replace("decision_type=8\n", "decision_type=9\n");
        assert!(Forest::parse(&categorical).unwrap_err().0.contains("categorical"));
        let outside = MODEL.replace("left_child=-1 -2", "left_child=-1 5");
        assert!(Forest::parse(&outside).unwrap_err().0.contains("outside"));
        let feature = MODEL.replace("split_feature=0\n", "split_feature=7\n");
        assert!(Forest::parse(&feature).unwrap_err().0.contains("max_feature_idx"));
        let linear = MODEL.replacen("is_linear=0", "is_linear=1", 1);
        assert!(Forest::parse(&linear).unwrap_err().0.contains("linear"));
    }
}

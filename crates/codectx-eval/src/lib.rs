//! `codectx eval`: retrieval quality on SWE-bench-style instances.
//!
//! For each instance ([`dataset::Instance`]) the repository's clone is moved to the
//! instance's `base_commit` ([`checkout::WorkTree`], incremental), the index is
//! updated incrementally (files whose content hash was indexed before are not
//! re-parsed: dozens of commits of one repository cost little more than one), the
//! problem statement is ranked under each configuration, and bundles are assembled
//! at 4k, 8k and 16k tokens. [`metrics`] computes file Acc@k / Recall@k, function
//! Acc@k, MRR and bundle recall. Per-instance results are cached by instance and
//! configuration, so an interrupted run resumes where it stopped.
//!
//! Nothing here knows about particular instances or repositories.
#![deny(missing_docs)]

pub mod checkout;
pub mod dataset;
pub mod metrics;
mod run;

pub use run::{
    run, EvalConfig, EvalOptions, EvalProgress, EvalReport, FeatureRow, FunctionFeatureRow, IndexTotals,
    DUMPED_CANDIDATES,
};
